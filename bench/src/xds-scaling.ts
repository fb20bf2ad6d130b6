// `scaling`: the xDS rows as the mesh doubles (500 to 4,000 services by default), one pilot process per
// size, to show how storm, push, endpoint change, memory and Pilot's CPU per push grow.
import { cpuSeconds, rssBytes } from './proc.js';
import { max, median, quantile } from './stats.js';
import type { BenchContext, Benchmark, BenchResult, Row } from './types.js';
import { connectStorm, endpointChange, push, xdsSizes } from './xds-bench.js';
import { pilotBuilt, startPilot } from './xds-targets.js';

export interface ScalePoint {
  services: number;
  clients: number;
  stormMs: number;
  pushP90Ms: number;
  endpointMs: number;
  rssMb: number;
  bytesPerClient: number;
  cpuPerPushS: number;
  lostStreams: number;
  serverEnded: number;
  reconnects: number;
  errors: string[];
}

/** Pushes measured per size (medians), whatever `--runs` asks below it (not in `--quick`). */
const MIN_PUSHES = 5;

/** Sizes: doubling from an eighth of `top` (4,000 unless `--services`) to `top`. */
export function scalingSizes(ctx: BenchContext): number[] {
  const top = ctx.services ?? (ctx.quick ? 40 : 4000);
  return [top / 8, top / 4, top / 2, top].map((n) => Math.max(2, Math.round(n)));
}

async function measure(ctx: BenchContext, services: number): Promise<ScalePoint> {
  const sizes = xdsSizes(ctx.quick, { services, clients: ctx.clients ?? (ctx.quick ? 20 : 500) });
  const point: ScalePoint = {
    services,
    clients: sizes.clients,
    stormMs: Number.NaN,
    pushP90Ms: Number.NaN,
    endpointMs: Number.NaN,
    rssMb: Number.NaN,
    bytesPerClient: Number.NaN,
    cpuPerPushS: Number.NaN,
    lostStreams: 0,
    serverEnded: 0,
    reconnects: 0,
    errors: [],
  };
  const target = await startPilot(ctx, sizes.spec);
  try {
    const storm = await connectStorm(target, sizes);
    const load = storm.load;
    try {
      point.stormMs = storm.ms;
      if (storm.note) point.errors.push(storm.note);
      await load.quiet(500, sizes.timeoutMs);
      const rssStorm = rssBytes(target.pid);
      point.bytesPerClient = load.clients.reduce((a, c) => a + c.bytes, 0) / Math.max(1, load.clients.length);
      const p90: number[] = [];
      const cpu: number[] = [];
      // At least 5 pushes per size: the first after a storm costs up to twice the next ones (its GC of the
      // storm's garbage, first compiles), and with 3 the median moved with how the other two fell.
      const pushes = ctx.quick ? ctx.runs : Math.max(ctx.runs, MIN_PUSHES);
      for (let r = 0; r < pushes; r++) {
        const c0 = cpuSeconds(target.pid);
        p90.push(quantile(await push(target, load, r, sizes.timeoutMs, ctx.log), 0.9));
        cpu.push(cpuSeconds(target.pid) - c0);
      }
      point.pushP90Ms = median(p90);
      point.cpuPerPushS = median(cpu);
      point.endpointMs = (await endpointChange(target, load, 0, sizes.timeoutMs)).ms;
      await load.quiet(500, sizes.timeoutMs);
      point.rssMb = Math.max(rssStorm, rssBytes(target.pid)) / (1024 * 1024);
      const s = load.streamStats();
      point.lostStreams =
        s.lost + (load.clients.length < sizes.clients ? sizes.clients - load.clients.length : 0);
      point.serverEnded = s.serverEnded;
      point.reconnects = s.reconnects;
      point.errors.push(...load.errors().slice(0, 3));
    } finally {
      load.close();
    }
  } catch (err) {
    point.errors.push((err as Error).message);
  } finally {
    await target.stop();
  }
  ctx.log(
    `scaling ${services} services, ${point.clients} clients: storm ${point.stormMs.toFixed(0)} ms, push p90 ${point.pushP90Ms.toFixed(0)} ms, ` +
      `endpoint ${point.endpointMs.toFixed(0)} ms, RSS ${point.rssMb.toFixed(0)} MB, ${(point.bytesPerClient / 1024).toFixed(0)} KB/client, ` +
      `pilot CPU/push ${point.cpuPerPushS.toFixed(2)} s, lost ${point.lostStreams}, server-ended ${point.serverEnded}, reconnects ${point.reconnects}` +
      (point.errors.length > 0 ? `; ${point.errors.join('; ')}` : ''),
  );
  return point;
}

/** Largest ratio between consecutive sizes (each a doubling). */
const worstGrowth = (xs: number[]): number =>
  max(
    xs
      .slice(1)
      .map((x, i) => x / (xs[i] as number))
      .map((r) => (Number.isFinite(r) ? r : Number.POSITIVE_INFINITY)),
  );

/** A row whose figure is the worst growth between consecutive sizes (target: at most 2.2x per doubling). */
const growthRow = (name: string, samples: number[], note?: string): Row => ({
  name,
  figure: worstGrowth(samples),
  unit: 'x per doubling',
  target: 2.2,
  cmp: 'le',
  samples,
  ...(note ? { note } : {}),
});

export const xdsScaling: Benchmark = {
  name: 'scaling',
  description:
    'pilot process at 4 mesh sizes (each double the last): storm, push p90, endpoint, RSS, bytes/client, CPU per push',
  async run(ctx: BenchContext): Promise<BenchResult> {
    if (!pilotBuilt(ctx)) {
      const skipped = 'pilot main.js not built';
      const row = (name: string): Row => ({
        name,
        figure: Number.NaN,
        unit: 'x',
        target: 2.2,
        cmp: 'le',
        samples: [],
        skipped,
      });
      const rows = ['scaling cpu/push growth', 'scaling push p90 growth', 'scaling rss growth'].map(row);
      return { rows, details: {} };
    }
    const points: ScalePoint[] = [];
    for (const n of scalingSizes(ctx)) points.push(await measure(ctx, n));
    const shape = points
      .map(
        (p) =>
          `${p.services}: storm ${(p.stormMs / 1000).toFixed(1)} s, p90 ${(p.pushP90Ms / 1000).toFixed(2)} s, EDS ${p.endpointMs.toFixed(0)} ms, ${p.rssMb.toFixed(0)} MB, ${(p.bytesPerClient / 1024).toFixed(0)} KB/client, CPU ${p.cpuPerPushS.toFixed(2)} s`,
      )
      .join('; ');
    const lost = points.reduce((a, p) => a + p.lostStreams, 0);
    return {
      rows: [
        growthRow(
          'scaling cpu/push growth',
          points.map((p) => p.cpuPerPushS),
          shape,
        ),
        growthRow(
          'scaling push p90 growth',
          points.map((p) => p.pushP90Ms),
        ),
        growthRow(
          'scaling rss growth',
          points.map((p) => p.rssMb),
        ),
        {
          name: 'scaling lost streams',
          figure: lost,
          unit: 'streams',
          target: 0,
          cmp: 'le',
          samples: points.map((p) => p.lostStreams),
          note: `server-ended calls ${points.map((p) => p.serverEnded).join('/')}, reconnects ${points.map((p) => p.reconnects).join('/')}`,
        },
      ],
      details: { points },
    };
  },
};
