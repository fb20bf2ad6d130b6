import type { Resource } from '@keel/config';
import {
  buildPushContext,
  type ConfigEntry,
  generateProxyResources,
  meshViewOf,
  parseNode,
} from '@keel/pilot';
import { generateMesh, type MeshSpec, proxyNode } from './mesh.js';
import { median, nowMs, quantile } from './stats.js';
import type { BenchContext, Benchmark, BenchResult } from './types.js';
import { xdsSizes } from './xds-bench.js';
import { MeshXds } from './xds-snapshot.js';

/** Pilot's config view of the generated mesh, as its MCP sink would build it (spec = the resource body). */
function storeSnapshot(resources: Resource[]) {
  const byKind = new Map<string, ConfigEntry[]>();
  for (const r of resources) {
    const entry: ConfigEntry = {
      kind: r.kind,
      name: r.metadata.name,
      namespace: r.metadata.namespace ?? '',
      spec: structuredClone(r.body),
      labels: { ...(r.metadata.labels ?? {}) },
      annotations: {},
      createdAt: 0,
      version: '1',
    };
    const list = byKind.get(r.kind) ?? [];
    list.push(entry);
    byKind.set(r.kind, list);
  }
  return { version: '1', byKind, mesh: meshViewOf() };
}

/** ms to build one proxy's CDS/EDS/LDS/RDS objects (parseNode + generateProxyResources) on a built push context. */
export function proxyBuildMs(
  spec: MeshSpec,
  proxies: number,
): { perProxy: number[]; pushContextMs: number; counts: Record<string, number> } {
  const t0 = nowMs();
  const push = buildPushContext(storeSnapshot(generateMesh(spec)));
  const pushContextMs = nowMs() - t0;
  const perProxy: number[] = [];
  let counts: Record<string, number> = {};
  for (let i = 0; i < proxies; i++) {
    const t1 = nowMs();
    const proxy = parseNode(proxyNode(spec, i * 97), push);
    if (!proxy.ok) throw new Error(`parseNode: ${proxy.errors}`);
    const r = generateProxyResources(push, proxy.value);
    perProxy.push(nowMs() - t1);
    counts = {
      clusters: r.clusters.length,
      endpoints: r.endpoints.length,
      listeners: r.listeners.length,
      routes: r.routes.length,
    };
  }
  return { perProxy, pushContextMs, counts };
}

export const xdsCost: Benchmark = {
  name: 'xds-cost',
  description: 'pilot in process: building config for one proxy scope in the mesh',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const { spec } = xdsSizes(ctx.quick, ctx);
    const proxies = ctx.quick ? 3 : 10;
    proxyBuildMs(spec, 2); // warm-up
    const build: number[] = [];
    const pushCtx: number[] = [];
    const baseline: number[] = [];
    let counts: Record<string, number> = {};
    for (let r = 0; r < ctx.runs; r++) {
      const m = proxyBuildMs(spec, proxies);
      build.push(median(m.perProxy));
      pushCtx.push(m.pushContextMs);
      counts = m.counts;
      const t0 = nowMs();
      new MeshXds(spec).snapshot('ns-0');
      baseline.push(nowMs() - t0);
      ctx.log(
        `xds-cost run ${r + 1}: proxy ${median(m.perProxy).toFixed(1)} ms (p90 ${quantile(m.perProxy, 0.9).toFixed(1)}), push context ${m.pushContextMs.toFixed(0)} ms`,
      );
    }
    return {
      rows: [
        {
          name: 'xds-cost proxy build',
          figure: median(build),
          unit: 'ms',
          target: 50,
          cmp: 'le',
          baseline: median(baseline),
          baselineLabel: 'hand-built equal snapshot, encoded',
          samples: build,
          note: `${spec.services} services; push context ${median(pushCtx).toFixed(0)} ms (once per change)`,
        },
      ],
      details: {
        spec,
        perRunMedianMs: build,
        pushContextMs: pushCtx,
        baselineMs: baseline,
        proxyResources: counts,
      },
    };
  },
};
