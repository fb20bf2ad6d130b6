// Policy Check (ext_authz): a real mixer-policy process fed over MCP with bookinfo-style rules,
// against a no-op grpc-js Check server in the same run; and the decision-cache hit cost in process.
import * as grpc from '@grpc/grpc-js';
import { kindFor, MESH_CONFIG_COLLECTION } from '@keel/config';
import { createMcpSource, type McpResource } from '@keel/mcp';
import {
  bagFromCheckRequest,
  compilePolicy,
  emptyConfig,
  KubeIndex,
  PolicyEngine,
  type PolicyResource,
  policyCollections,
  policyResource,
} from '@keel/mixer-policy';
import { packStruct } from '@keel/proto';
import { silentLogger } from '@keel/runtime';
import { policyRequests, runLoad } from './policy-load.js';
import { startServer } from './proc.js';
import { median, nowMs, round } from './stats.js';
import type { BenchContext, Benchmark, BenchResult, Row } from './types.js';

type Obj = Record<string, any>;

const APPS: [string, string, string][] = [
  ['productpage-v1-0', 'productpage', 'v1'],
  ['reviews-v1-0', 'reviews', 'v1'],
  ['reviews-v2-0', 'reviews', 'v2'],
  ['reviews-v3-0', 'reviews', 'v3'],
  ['details-v1-0', 'details', 'v1'],
];

/** Bookinfo pods and the policy of the samples: deny by label, deny x-user john, a version whitelist. */
export function policyObjects(): Obj[] {
  const pods = [...APPS, ['ratings-v1-0', 'ratings', 'v1'] as [string, string, string]].map(
    ([name, app, version], i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', labels: { app, version } },
      spec: { serviceAccountName: `bookinfo-${app}`, containers: [{ name: app }] },
      status: { podIP: name.startsWith('ratings') ? '10.1.0.9' : `10.1.0.${i + 1}` },
    }),
  );
  const cfg = (kind: string, name: string, spec: Obj, ns = 'default') => ({
    apiVersion: 'config.istio.io/v1alpha2',
    kind,
    metadata: { name, namespace: ns },
    spec,
  });
  return [
    ...pods,
    cfg('handler', 'denyreviewsv3handler', {
      compiledAdapter: 'denier',
      params: { status: { code: 7, message: 'Not allowed' } },
    }),
    cfg('instance', 'denyreviewsv3request', { compiledTemplate: 'checknothing' }),
    cfg('rule', 'denyreviewsv3', {
      match:
        'destination.labels["app"] == "ratings" && source.labels["app"]=="reviews" && source.labels["version"] == "v3"',
      actions: [{ handler: 'denyreviewsv3handler', instances: ['denyreviewsv3request'] }],
    }),
    cfg(
      'handler',
      'denyjohn',
      { compiledAdapter: 'denier', params: { status: { code: 7, message: 'Not allowed' } } },
      'istio-system',
    ),
    cfg('instance', 'denyjohnrequest', { compiledTemplate: 'checknothing' }, 'istio-system'),
    cfg(
      'rule',
      'denyjohn',
      {
        match: '(request.headers["x-user"] | "") == "john"',
        actions: [{ handler: 'denyjohn', instances: ['denyjohnrequest'] }],
      },
      'istio-system',
    ),
    cfg('handler', 'whitelist', {
      compiledAdapter: 'listchecker',
      params: { overrides: ['v1', 'v2', 'v3'], blacklist: false },
    }),
    cfg('instance', 'appversion', {
      compiledTemplate: 'listentry',
      params: { value: 'source.labels["version"]' },
    }),
    cfg('rule', 'checkversion', {
      match: 'destination.labels["app"] == "ratings"',
      actions: [{ handler: 'whitelist', instances: ['appversion'] }],
    }),
  ];
}

function mcpResources(objects: Obj[]): Map<string, McpResource[]> {
  const out = new Map<string, McpResource[]>(policyCollections().map((c) => [c, []]));
  for (const o of objects) {
    const info = kindFor(o.apiVersion, o.kind)!;
    const { apiVersion: _a, kind: _k, metadata, ...rest } = o;
    const body = info.group === '' ? rest : (o.spec ?? {});
    out.get(info.collection)!.push({
      metadata: { name: `${metadata.namespace}/${metadata.name}`, version: '1', labels: metadata.labels },
      body: packStruct(body),
    });
  }
  out.set(MESH_CONFIG_COLLECTION, [
    { metadata: { name: 'istio-system/meshconfig', version: '1' }, body: packStruct({}) },
  ]);
  return out;
}

/** µs per decision-cache hit (`DecisionCache.get` on an enriched bag) and per full engine.check hit. */
export async function cacheHitCost(iterations: number): Promise<{ getUs: number; checkUs: number }> {
  const collections = mcpResources(policyObjects());
  const resources: PolicyResource[] = [];
  for (const [c, rs] of collections)
    for (const r of rs) {
      const p = policyResource(c, r);
      if (p && p.kind !== 'Pod') resources.push(p);
    }
  const kube = new KubeIndex();
  kube.setPods(collections.get('k8s/core/v1/pods')!);
  const engine = new PolicyEngine();
  const env = { logger: silentLogger, bus: () => undefined, now: Date.now };
  engine.setConfig(compilePolicy(resources, emptyConfig(), env, '1').config);
  const req = policyRequests(4)[1]!;
  const parsed = bagFromCheckRequest(req as Obj, engine.current().manifest);
  if (!parsed.ok) throw new Error(parsed.errors);
  const bag = kube.enrich(parsed.value);
  const first = await engine.check(bag);
  if (first.cacheHit) throw new Error('first check should miss');
  const now = Date.now();
  for (let i = 0; i < 10_000; i++) engine.cache.get(bag, now);
  let t0 = nowMs();
  for (let i = 0; i < iterations; i++) engine.cache.get(bag, now);
  const getUs = ((nowMs() - t0) * 1000) / iterations;
  const n = Math.floor(iterations / 4);
  t0 = nowMs();
  for (let i = 0; i < n; i++) await engine.check(bag);
  const checkUs = ((nowMs() - t0) * 1000) / n;
  return { getUs, checkUs };
}

export const policyBench: Benchmark = {
  name: 'policy',
  description: 'mixer-policy ext_authz Check vs a no-op grpc-js Check server; decision-cache hit cost',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const source = createMcpSource({ collections: policyCollections() });
    source.setSnapshot({ version: '1', collections: mcpResources(policyObjects()) });
    const mcp = new grpc.Server();
    mcp.addService(source.definition, source.implementation);
    const mcpPort = await new Promise<number>((resolve, reject) =>
      mcp.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const policy = await startServer(
      ctx,
      'services/mixer-policy/dist/src/main.js',
      [
        '--mcp-address',
        `127.0.0.1:${mcpPort}`,
        '--grpc-port',
        '0',
        '--monitoring-port',
        '0',
        '--host',
        '127.0.0.1',
      ],
      'mixer-policy listening',
    );
    const configured = await policy.next('policy configuration in force');
    if (configured.rules !== 3) throw new Error(`mixer-policy has ${configured.rules} rules, want 3`);
    const noop = await startServer(ctx, 'bench/dist/src/noop-check-server.js', [], 'noop listening');
    const policyPort = Number(policy.ready.grpcPort);
    const noopPort = Number(noop.ready.grpcPort);
    const requests = policyRequests(500);
    const durationMs = ctx.quick ? 800 : 2500;
    const samples = {
      rate: [] as number[],
      noopRate: [] as number[],
      p99: [] as number[],
      noopP99: [] as number[],
    };
    const details: Obj = { requests: requests.length, durationMs, runs: [] as Obj[] };
    try {
      await runLoad(policyPort, requests, { durationMs: 500 });
      await runLoad(noopPort, requests, { durationMs: 500 });
      for (let r = 0; r < ctx.runs; r++) {
        const p = await runLoad(policyPort, requests, { durationMs });
        const n = await runLoad(noopPort, requests, { durationMs });
        const pp = await runLoad(policyPort, requests, { durationMs, ratePerSec: 5000 });
        const np = await runLoad(noopPort, requests, { durationMs, ratePerSec: 5000 });
        if (p.errors + pp.errors > 0)
          throw new Error(`mixer-policy answered ${p.errors + pp.errors} checks with errors`);
        samples.rate.push(p.rate);
        samples.noopRate.push(n.rate);
        samples.p99.push(pp.p99);
        samples.noopP99.push(np.p99);
        details.runs.push({ closed: p, noopClosed: n, paced: pp, noopPaced: np });
        ctx.log(
          `policy run ${r + 1}: ${round(p.rate)}/s (no-op ${round(n.rate)}/s), p99 at 5,000/s ${round(pp.p99)} ms (no-op ${round(np.p99)} ms), denied ${p.denied}`,
        );
      }
    } finally {
      await policy.stop();
      await noop.stop();
      mcp.forceShutdown();
    }
    const hit = await cacheHitCost(ctx.quick ? 50_000 : 400_000);
    details.cacheHit = hit;
    const ratios = samples.rate.map((v, i) => v / samples.noopRate[i]!);
    const rows: Row[] = [
      {
        name: 'policy-check rate (closed loop, 64 in flight)',
        figure: median(samples.rate),
        unit: 'checks/s',
        target: 5000,
        cmp: 'ge',
        baseline: median(samples.noopRate),
        baselineLabel: 'no-op grpc-js Check',
        samples: samples.rate,
      },
      {
        name: 'policy-check rate / no-op rate',
        figure: median(ratios),
        unit: 'ratio',
        target: 0.8,
        cmp: 'ge',
        samples: ratios,
      },
      {
        name: 'policy-check p99 at 5,000 checks/s',
        figure: median(samples.p99),
        unit: 'ms',
        target: 2,
        cmp: 'le',
        baseline: median(samples.noopP99),
        baselineLabel: 'no-op grpc-js Check',
        samples: samples.p99,
      },
      {
        name: 'policy decision-cache hit',
        figure: hit.getUs,
        unit: 'us',
        target: 2,
        cmp: 'le',
        samples: [hit.getUs],
        note: `engine.check on a hit (no quota): ${round(hit.checkUs)} us`,
      },
    ];
    return { rows, details };
  },
};
