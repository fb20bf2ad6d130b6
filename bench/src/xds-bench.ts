import { TypeUrl } from '@keel/proto';
import { AdsLoad, type StreamStats } from './ads-load.js';
import { type MeshSpec, proxyNode } from './mesh.js';
import { cpuSeconds, rssBytes, slope } from './proc.js';
import { max, median, nowMs, quantile } from './stats.js';
import type { BenchContext, Benchmark, BenchResult, Row } from './types.js';
import { pilotBuilt, startBaseline, startPilot, type XdsTarget } from './xds-targets.js';

/** Figures of one target, one entry per run. */
export interface XdsFigures {
  stormMs: number[];
  pushP90Ms: number[];
  pushMaxMs: number[];
  endpointMs: number[];
  /** Responses of a type other than EDS after an endpoint change, summed over runs. */
  nonEdsAfterEndpoint: number;
  noopResponses: number[];
  /** The larger of `rssAfterStormMb` and `rssSteadyMb`. */
  rssMb: number;
  rssAfterStormMb: number;
  /** After the series of pushes, endpoint changes and no-op pushes. */
  rssSteadyMb: number;
  /** Server CPU seconds per route push (from /proc), one per run. */
  cpuPerPushS: number[];
  /** Mean bytes a client received during the storm. */
  bytesPerClient: number;
  streams?: StreamStats;
  soak?: SoakFigures;
  /** Resources per type the first client holds after the storm. */
  held: Record<string, number>;
  /** Responses per type after the last route change. */
  pushByType: Record<string, number>;
  errors: string[];
}

export interface XdsSizes {
  spec: MeshSpec;
  clients: number;
  channels: number;
  timeoutMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connect storm: every client opens at once; ms until the last holds CDS+EDS+LDS+RDS. */
export async function connectStorm(
  target: XdsTarget,
  sizes: XdsSizes,
): Promise<{ load: AdsLoad; ms: number; note?: string }> {
  const nodes = Array.from({ length: sizes.clients }, (_, i) => proxyNode(sizes.spec, i));
  const load = new AdsLoad({ address: target.address, nodes, channels: sizes.channels });
  const t0 = nowMs();
  load.startAll();
  try {
    await load.until(
      () => load.fullCount() === nodes.length,
      sizes.timeoutMs,
      `${target.label} connect storm`,
    );
  } catch (err) {
    // Not every client converged: the storm fails (Infinity), the other rows measure the clients that did.
    const errs = load.errors().slice(0, 3).join('; ');
    const note = `${(err as Error).message} (${load.fullCount()}/${nodes.length} full) ${errs}`;
    load.dropIncomplete();
    if (load.clients.length === 0) {
      load.close();
      throw new Error(note);
    }
    return { load, ms: Number.POSITIVE_INFINITY, note };
  }
  return { load, ms: max(load.clients.map((c) => c.fullAt)) - t0 };
}

/** A change every proxy sees: per-client convergence is its last response after the trigger. */
export async function push(
  target: XdsTarget,
  load: AdsLoad,
  n: number,
  timeoutMs: number,
  log: (m: string) => void,
): Promise<number[]> {
  const w = load.mark();
  const server = target.nextPush?.();
  server?.catch(() => {});
  const t0 = nowMs();
  target.routeChange(n);
  const triggerMs = nowMs() - t0;
  await load
    .until(() => w.clientsWithAny === load.clients.length, timeoutMs, `${target.label} push`)
    .catch(() => {});
  await load.quiet(300, timeoutMs);
  const pushed = await Promise.race([server, Promise.resolve(undefined)]).catch(() => undefined);
  if (pushed) {
    const { waitedMs, contextMs, durationMs, builds, framed, framedPooled } = pushed as Record<
      string,
      number
    >;
    log(
      `${target.label} push: trigger ${triggerMs.toFixed(0)} ms in this process; server waited ${waitedMs} ms ` +
        `(debounce included), push context ${contextMs} ms, push ${Number(durationMs).toFixed(0)} ms, ${builds} builds, ${framed} framed (${framedPooled} into reused buffers)`,
    );
  }
  return Array.from(w.lastAt, (t) => (t === 0 ? Number.POSITIVE_INFINITY : t - t0));
}

/** One endpoint change: ms until every client got EDS, and how many non-EDS responses came. */
export async function endpointChange(
  target: XdsTarget,
  load: AdsLoad,
  n: number,
  timeoutMs: number,
): Promise<{ ms: number; others: number }> {
  const w = load.mark();
  const t0 = nowMs();
  target.endpointChange(n);
  const eds = TypeUrl.ClusterLoadAssignment;
  let ms = Number.POSITIVE_INFINITY;
  await load
    .until(() => (w.clientsWith[eds] ?? 0) === load.clients.length, timeoutMs, `${target.label} endpoint`)
    .then(() => (ms = nowMs() - t0))
    .catch(() => {});
  await load.quiet(300, timeoutMs);
  const others = Object.entries(w.byType).reduce((sum, [t, c]) => (t === eds ? sum : sum + c), 0);
  return { ms, others };
}

/** Identical content under a new version: responses counted over a fixed, bounded window. */
async function noop(target: XdsTarget, load: AdsLoad, n: number): Promise<number> {
  const w = load.mark();
  target.noopChange(n);
  await sleep(1500);
  return Object.values(w.byType).reduce((a, b) => a + b, 0);
}

export interface SoakFigures {
  minutes: number;
  changes: number;
  /** Samples after the first third (warm-up): MB per minute. */
  rssSlopeMbPerMin: number;
  heapSlopeMbPerMin: number;
  rssMb: number[];
  heapMb: number[];
  pushP90Ms: number[];
}

/** `--soak`: a weight, endpoint or no-op change every 10 s for `minutes`; RSS and heap sampled after each. */
async function soak(
  ctx: BenchContext,
  target: XdsTarget,
  load: AdsLoad,
  minutes: number,
  timeoutMs: number,
): Promise<SoakFigures> {
  const t0 = nowMs();
  const at: number[] = [];
  const rss: number[] = [];
  const heap: number[] = [];
  const p90: number[] = [];
  let i = 0;
  while (nowMs() - t0 < minutes * 60_000) {
    const started = nowMs();
    const kind = i % 3;
    if (kind === 0) p90.push(quantile(await push(target, load, 100 + i, timeoutMs, () => {}), 0.9));
    else if (kind === 1) await endpointChange(target, load, 100 + i, timeoutMs);
    else await noop(target, load, 100 + i);
    i += 1;
    at.push((nowMs() - t0) / 60_000);
    rss.push(rssBytes(target.pid) / (1024 * 1024));
    heap.push(((await target.heapBytes?.().catch(() => Number.NaN)) ?? Number.NaN) / (1024 * 1024));
    const external = ((await target.externalBytes?.().catch(() => Number.NaN)) ?? Number.NaN) / (1024 * 1024);
    ctx.log(
      `${target.label} soak ${at.at(-1)!.toFixed(1)} min: ${['weight', 'endpoint', 'no-op'][kind]} change; ` +
        `RSS ${rss.at(-1)!.toFixed(0)} MB, heap ${heap.at(-1)!.toFixed(0)} MB, external ${external.toFixed(0)} MB, ` +
        `lost streams ${load.streamStats().lost}`,
    );
    await sleep(Math.max(0, 10_000 - (nowMs() - started)));
  }
  const warm = Math.floor(at.length / 3);
  return {
    minutes,
    changes: i,
    rssSlopeMbPerMin: slope(at.slice(warm), rss.slice(warm)),
    heapSlopeMbPerMin: slope(at.slice(warm), heap.slice(warm)),
    rssMb: rss,
    heapMb: heap,
    pushP90Ms: p90,
  };
}

const emptyFigures = (): XdsFigures => ({
  stormMs: [],
  pushP90Ms: [],
  pushMaxMs: [],
  endpointMs: [],
  nonEdsAfterEndpoint: 0,
  noopResponses: [],
  rssMb: Number.NaN,
  rssAfterStormMb: Number.NaN,
  rssSteadyMb: Number.NaN,
  cpuPerPushS: [],
  bytesPerClient: Number.NaN,
  held: {},
  pushByType: {},
  errors: [],
});

/** Runs every xDS measurement against one target; runs storms, pushes and endpoint changes `runs` times. */
export async function measureTarget(
  ctx: BenchContext,
  target: XdsTarget,
  sizes: XdsSizes,
): Promise<XdsFigures> {
  const f = emptyFigures();
  let load: AdsLoad | undefined;
  try {
    for (let r = 0; r < ctx.runs; r++) {
      load?.close();
      if (load) await sleep(500); // let the server reap the previous streams
      const storm = await connectStorm(target, sizes);
      load = storm.load;
      f.stormMs.push(storm.ms);
      if (storm.note)
        f.errors.push(
          `later rows measured on the ${load.clients.length} clients that converged: ${storm.note}`,
        );
      ctx.log(
        `${target.label} storm ${r + 1}: ${storm.ms.toFixed(0)} ms for ${sizes.clients} clients${storm.note ? ` (${storm.note})` : ''}`,
      );
    }
    if (!load) throw new Error('no load');
    await load.quiet(500, sizes.timeoutMs);
    f.rssAfterStormMb = rssBytes(target.pid) / (1024 * 1024);
    f.bytesPerClient = load.clients.reduce((a, c) => a + c.bytes, 0) / Math.max(1, load.clients.length);
    const first = load.clients[0];
    if (first) for (const [t, st] of first.state) f.held[t.split('.').pop() ?? t] = st.resources;
    for (let r = 0; r < ctx.runs; r++) {
      const cpu0 = cpuSeconds(target.pid);
      const conv = await push(target, load, r, sizes.timeoutMs, ctx.log);
      f.cpuPerPushS.push(cpuSeconds(target.pid) - cpu0);
      f.pushByType = { ...load.window().byType };
      f.pushP90Ms.push(quantile(conv, 0.9));
      f.pushMaxMs.push(max(conv));
      const e = await endpointChange(target, load, r, sizes.timeoutMs);
      f.endpointMs.push(e.ms);
      f.nonEdsAfterEndpoint += e.others;
      f.noopResponses.push(await noop(target, load, r));
      ctx.log(
        `${target.label} run ${r + 1}: push first ${Math.min(...conv).toFixed(0)} ms, p50 ${quantile(conv, 0.5).toFixed(0)} ms, ` +
          `p90 ${quantile(conv, 0.9).toFixed(0)} ms, max ${max(conv).toFixed(0)} ms; ` +
          `endpoint ${e.ms.toFixed(0)} ms (${e.others} non-EDS); noop ${f.noopResponses[r]} responses`,
      );
    }
    // Steady state after a series of pushes (not only right after the storm): the larger is the figure.
    await load.quiet(500, sizes.timeoutMs);
    f.rssSteadyMb = rssBytes(target.pid) / (1024 * 1024);
    f.rssMb = Math.max(f.rssAfterStormMb, f.rssSteadyMb);
    // The soak is for the server under test (the one with a heap to read), not the baseline.
    if (ctx.soakMinutes && target.heapBytes)
      f.soak = await soak(ctx, target, load, ctx.soakMinutes, sizes.timeoutMs);
    f.streams = load.streamStats();
    f.errors.push(...load.errors().slice(0, 5));
  } catch (err) {
    // A target that cannot finish (e.g. a storm past the timeout) fails its rows; the run goes on.
    f.errors.push((err as Error).message);
    ctx.log(`${target.label}: ${(err as Error).message}`);
  } finally {
    load?.close();
  }
  return f;
}

function rows(pilot: XdsFigures | undefined, base: XdsFigures, sizes: XdsSizes, skip?: string): Row[] {
  const n = sizes.clients;
  const bl = 'libs/xds pre-built';
  const row = (
    name: string,
    pick: (f: XdsFigures) => number[],
    target: number,
    unit: string,
    note?: string,
  ): Row => ({
    name,
    figure: pilot ? median(pick(pilot)) : Number.NaN,
    unit,
    target,
    cmp: 'le',
    ...(pick(base).length > 0 ? { baseline: median(pick(base)), baselineLabel: bl } : {}),
    samples: pilot ? pick(pilot) : [],
    ...(note ? { note } : {}),
    ...(skip ? { skipped: skip } : {}),
  });
  const shape = `${sizes.spec.services} services, ${n} clients`;
  return [
    row(
      'xds-push p90',
      (f) => f.pushP90Ms,
      1500,
      'ms',
      pilot?.errors[0] ? `${shape}; ${pilot.errors[0]}` : shape,
    ),
    row('xds-push all', (f) => f.pushMaxMs, 3000, 'ms'),
    row(
      'xds-endpoint',
      (f) => f.endpointMs,
      1000,
      'ms',
      pilot ? `${pilot.nonEdsAfterEndpoint} non-EDS responses` : undefined,
    ),
    row(
      'xds-endpoint non-EDS',
      (f) => (f.endpointMs.length > 0 ? [f.nonEdsAfterEndpoint] : []),
      0,
      'responses',
    ),
    row(
      'xds-storm',
      (f) => f.stormMs,
      10_000,
      'ms',
      pilot?.streams
        ? `${shape}; ${(pilot.bytesPerClient / 1024).toFixed(0)} KB per client; server-ended calls ${pilot.streams.serverEnded}, reconnects ${pilot.streams.reconnects}, lost streams ${pilot.streams.lost}; pilot CPU per push ${median(pilot.cpuPerPushS).toFixed(2)} s`
        : shape,
    ),
    row(
      'xds-rss',
      (f) => (Number.isFinite(f.rssMb) ? [f.rssMb] : []),
      150 + 0.5 * n,
      'MB',
      pilot
        ? `${n} connected; after storm ${pilot.rssAfterStormMb.toFixed(0)} MB, steady after pushes ${pilot.rssSteadyMb.toFixed(0)} MB (larger shown)`
        : `${n} connected`,
    ),
    row('xds-noop-push', (f) => f.noopResponses, 0, 'responses'),
    ...(pilot?.soak
      ? [
          {
            name: 'xds-soak rss slope',
            figure: pilot.soak.rssSlopeMbPerMin,
            unit: 'MB/min',
            target: 1,
            cmp: 'le' as const,
            samples: pilot.soak.rssMb,
            note: `${pilot.soak.minutes} min, ${pilot.soak.changes} changes; heap slope ${pilot.soak.heapSlopeMbPerMin.toFixed(2)} MB/min; RSS ${pilot.soak.rssMb[0]?.toFixed(0)} -> ${pilot.soak.rssMb.at(-1)?.toFixed(0)} MB; push p90 median ${median(pilot.soak.pushP90Ms).toFixed(0)} ms`,
          },
        ]
      : []),
  ];
}

export function xdsSizes(quick: boolean, over: { services?: number; clients?: number } = {}): XdsSizes {
  const services = over.services ?? (quick ? 20 : 1000);
  return {
    spec: {
      services,
      namespaces: quick ? 2 : Math.max(1, Math.round(services / 100)),
      podsPerService: 2,
      routedEvery: 10,
      serviceEntries: 0,
    },
    clients: over.clients ?? (quick ? 20 : 1000),
    channels: quick ? 2 : Number(process.env.KEEL_BENCH_CHANNELS ?? 8),
    timeoutMs: quick ? 20_000 : 120_000,
  };
}

export const xdsBench: Benchmark = {
  name: 'xds',
  description: 'pilot process: push, endpoint change, connect storm, RSS, no-op push (ADS load client)',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const sizes = xdsSizes(ctx.quick, ctx);
    let base: XdsFigures = emptyFigures();
    if (!ctx.noBaseline) {
      const baseTarget = await startBaseline(ctx, sizes.spec);
      try {
        base = await measureTarget(ctx, baseTarget, sizes);
      } finally {
        await baseTarget.stop();
      }
    }
    let pilot: XdsFigures | undefined;
    let skip: string | undefined;
    if (ctx.baselineOnly) skip = 'baseline only (--baseline-only)';
    else if (!pilotBuilt(ctx)) skip = 'pilot main.js not built';
    else {
      const target = await startPilot(ctx, sizes.spec);
      try {
        pilot = await measureTarget(ctx, target, sizes);
      } finally {
        await target.stop();
      }
    }
    return { rows: rows(pilot, base, sizes, skip), details: { sizes, baseline: base, pilot } };
  },
};
