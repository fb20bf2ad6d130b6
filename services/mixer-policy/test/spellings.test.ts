// One model, one spelling: Mixer policy config written with JSON names and with proto field names
// goes object -> Galley validation and normalization -> MCP resource -> mixer-policy's decoding ->
// the engine, and gives identical decisions (codes, messages, cache durations, quota grants, headers).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MapBag } from '@keel/attributes';
import { formatError, kindFor, toResource, validateResource } from '@keel/config';
import { toMcpResource } from '@keel/galley';
import { silentLogger } from '@keel/runtime';
import { compilePolicy, emptyConfig, PolicyEngine, policyResource } from '../src/index.js';

/** camelCase keys -> proto field names; map keys in this table's data have no capitals, so they stay. */
function protoNames(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(protoNames);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), protoNames(x)]),
  );
}

type Obj = Record<string, unknown>;
const CFG = 'config.istio.io/v1alpha2';
const res = (kind: string, name: string, spec: Obj, namespace = 'istio-system'): Obj => ({
  apiVersion: CFG,
  kind,
  metadata: { name, namespace },
  spec,
});

/** The production path up to the engine: Galley's validation, its MCP encoding, this service's decoding. */
function engineOf(objects: Obj[]): PolicyEngine {
  const resources = objects.map((o) => {
    const parsed = toResource(o);
    if ('error' in parsed) throw new Error(formatError(parsed.error));
    const checked = validateResource(parsed.resource, { defaultNamespace: 'default' });
    if (!checked.ok) throw new Error(checked.errors.map((e) => formatError(e)).join('; '));
    const info = kindFor(checked.value.apiVersion, checked.value.kind)!;
    const mcp = toMcpResource({ resource: checked.value, origin: 'test', version: '1' });
    return policyResource(info.collection, mcp)!;
  });
  const env = { logger: silentLogger, bus: () => undefined, now: () => 1_000_000 };
  const { config } = compilePolicy(resources, emptyConfig(), env, '1');
  assert.deepEqual(config.issues, []);
  const engine = new PolicyEngine({ failOpen: () => false });
  engine.setConfig(config);
  return engine;
}

const bag = (o: Obj) => new MapBag(o as never);
const BAGS = [
  { 'destination.namespace': 'default', 'source.ip': '10.1.2.3', 'request.path': '/a', 'source.user': 'u1' },
  { 'destination.namespace': 'default', 'source.ip': '10.9.0.1', 'request.path': '/b', 'source.user': 'u2' },
  {
    'destination.namespace': 'default',
    'source.ip': '192.168.0.7',
    'request.path': '/admin',
    'source.user': 'u1',
  },
];

const CASES: Array<{ name: string; objects: Obj[]; quotas?: string[] }> = [
  {
    name: 'denier handler, checknothing instance, rule with match and header operations',
    objects: [
      res('handler', 'deny', {
        compiledAdapter: 'denier',
        params: { status: { code: 7, message: 'admin only' }, validDuration: '1m30s', validUseCount: 3 },
      }),
      res('instance', 'nothing', { compiledTemplate: 'checknothing' }),
      res('rule', 'deny-admin', {
        match: 'request.path == "/admin"',
        actions: [{ handler: 'deny', instances: ['nothing'] }],
        responseHeaderOperations: [{ name: 'x-denied', values: ['"yes"'], operation: 'APPEND' }],
      }),
    ],
  },
  {
    name: 'listchecker (IP ranges, blacklist, caching) with a listentry instance',
    objects: [
      res('handler', 'ips', {
        compiledAdapter: 'listchecker',
        params: {
          overrides: ['10.1.0.0/16', '192.168.0.7'],
          entryType: 'IP_ADDRESSES',
          blacklist: true,
          cachingInterval: '1.5s',
          cachingUseCount: 42,
        },
      }),
      res('instance', 'srcip', { compiledTemplate: 'listentry', params: { value: 'source.ip' } }),
      res('rule', 'block', { actions: [{ handler: 'ips', instances: ['srcip'] }] }),
    ],
  },
  {
    name: 'legacy kinds: listchecker (whitelist) and listentry',
    objects: [
      res('listchecker', 'paths', {
        overrides: ['/a', '/b'],
        entryType: 'STRINGS',
        blacklist: false,
        cachingInterval: '500ms',
      }),
      res('listentry', 'path', { value: 'request.path' }),
      res('rule', 'paths', { actions: [{ handler: 'paths.listchecker', instances: ['path.listentry'] }] }),
    ],
  },
  {
    name: 'memquota with overrides and a quota instance',
    quotas: ['rq'],
    objects: [
      res('handler', 'quota', {
        compiledAdapter: 'memquota',
        params: {
          quotas: [
            {
              name: 'rq.instance.istio-system',
              maxAmount: 2,
              validDuration: '1m',
              overrides: [{ dimensions: { source_user: 'u2' }, maxAmount: 1, validDuration: '90s' }],
            },
          ],
          minDeduplicationDuration: '1s',
        },
      }),
      res('instance', 'rq', {
        compiledTemplate: 'quota',
        params: { dimensions: { source_user: 'source.user' } },
      }),
      res('rule', 'quota', { actions: [{ handler: 'quota', instances: ['rq'] }] }),
    ],
  },
];

/** Every decision for BAGS (twice, so cache answers are compared too), with quotas asked when given. */
async function decisions(engine: PolicyEngine, quotas: string[] = []): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let round = 0; round < 2; round++) {
    for (const [i, b] of BAGS.entries()) {
      const asks = quotas.map((name) => ({ name, amount: 1, bestEffort: false }));
      const v = await engine.check(bag(b), asks, quotas.length > 0 ? `d${round}-${i}` : '');
      const { referenced: _r, ...rest } = v;
      out.push(rest);
    }
  }
  return out;
}

describe('mixer-policy reads one spelling (JSON names and proto names decide alike)', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const json = await decisions(engineOf(c.objects), c.quotas);
      const proto = c.objects.map((o) => ({ ...o, spec: protoNames(o.spec) }));
      assert.notDeepEqual(proto, c.objects, 'the proto-name copy differs from the JSON one');
      const viaProto = await decisions(engineOf(proto), c.quotas);
      assert.deepEqual(viaProto, json);
      // The table is not vacuous: some request is denied or limited by the config under test.
      assert.ok(
        json.some((d) => (d as { code: number }).code !== 0 || JSON.stringify(d).includes('"granted":0')),
        `no decision of ${c.name} depends on its config: ${JSON.stringify(json)}`,
      );
    });
  }
});
