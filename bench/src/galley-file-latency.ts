import { type FSWatcher, watch } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kindFor } from '@keel/config';
import { createMcpSink, type McpUpdate } from '@keel/mcp';
import { tempDir, withTimeout } from '@keel/testing';
import { stringify } from 'yaml';
import { meshFiles } from './galley-ingest.js';
import { serviceRef, specForTotal, toManifest, virtualService } from './mesh.js';
import { startServer } from './proc.js';
import { median, nowMs, quantile } from './stats.js';
import type { BenchContext, Benchmark, BenchResult } from './types.js';

const DEBOUNCE_QUIET_MS = 500;
const VS_COLLECTION = kindFor('networking.istio.io/v1alpha3', 'VirtualService')?.collection ?? '';

/** Resolves with the arrival time of the next update whose `changed` names `key`. */
class ChangeWaiter {
  private waiting?: { key: string; resolve: (t: number) => void };
  apply = (u: McpUpdate): void => {
    const w = this.waiting;
    if (w && u.changed.some((r) => r.metadata.name === w.key)) {
      this.waiting = undefined;
      w.resolve(nowMs());
    }
  };
  next(key: string): Promise<number> {
    return new Promise((resolve) => {
      this.waiting = { key, resolve };
    });
  }
}

/** Arrival time of the first fs.watch event after `arm()` (the baseline: the OS telling a watcher). */
function fsWatchProbe(dir: string): { arm(): Promise<number>; close(): void } {
  let pending: ((t: number) => void) | undefined;
  const w: FSWatcher = watch(dir, () => {
    pending?.(nowMs());
    pending = undefined;
  });
  return {
    arm: () => new Promise((resolve) => (pending = resolve)),
    close: () => w.close(),
  };
}

export const galleyFileLatency: Benchmark = {
  name: 'galley-file-latency',
  description: 'galley process: one changed file -> MCP sink apply (debounce 500 ms included)',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const changes = ctx.quick ? 3 : Math.max(10, ctx.runs * 4);
    const dir = await tempDir('bench-galley');
    const files = meshFiles(ctx.quick ? 100 : 2000);
    for (const f of files) await writeFile(join(dir.path, f.name), f.text);
    const ref = serviceRef(specForTotal(10), 0);
    const target = {
      ...ref,
      name: 'bench-changed',
      host: `bench-changed.${ref.namespace}.svc.cluster.local`,
    };
    const changedFile = join(dir.path, 'changed.yaml');
    await writeFile(changedFile, stringify(toManifest(virtualService(target, 1))));
    const galley = await startServer(
      ctx,
      'services/galley/dist/src/main.js',
      [
        '--config-dir',
        dir.path,
        '--mcp-port',
        '0',
        '--monitoring-port',
        '0',
        '--webhook-port',
        '0',
        '--host',
        '127.0.0.1',
      ],
      'galley listening',
    );
    const waiter = new ChangeWaiter();
    const sink = createMcpSink({
      address: `127.0.0.1:${galley.ready.mcpPort}`,
      collections: [VS_COLLECTION],
      sinkId: 'bench-sink',
      apply: waiter.apply,
    });
    const probe = fsWatchProbe(dir.path);
    const latencies: number[] = [];
    const watchLatencies: number[] = [];
    try {
      sink.start();
      await withTimeout(sink.whenSynced(), 30_000, 'MCP sink sync with galley');
      const key = `${target.namespace}/${target.name}`;
      for (let i = 0; i < changes; i++) {
        const seen = waiter.next(key);
        const watched = probe.arm();
        const t0 = nowMs();
        await writeFile(changedFile, stringify(toManifest(virtualService(target, i + 2))));
        const t1 = await withTimeout(seen, 10_000, `change ${i + 1} reaching the sink`);
        latencies.push(t1 - t0);
        watchLatencies.push((await withTimeout(watched, 1000, 'fs.watch event')) - t0);
        ctx.log(`galley-file-latency change ${i + 1}: ${(t1 - t0).toFixed(0)} ms`);
      }
    } finally {
      probe.close();
      await sink.stop();
      await galley.stop();
      await dir.cleanup();
    }
    const baseline = median(watchLatencies) + DEBOUNCE_QUIET_MS;
    const note = `${changes} changes, ${files.length} files in dir; p90 ${quantile(latencies, 0.9).toFixed(0)} ms`;
    return {
      rows: [
        {
          name: 'galley-file-latency',
          figure: median(latencies),
          unit: 'ms',
          target: 1500,
          cmp: 'le',
          baseline,
          baselineLabel: 'fs.watch + 500 ms quiet',
          samples: latencies,
          note,
        },
        {
          name: 'galley-file-latency p90',
          figure: quantile(latencies, 0.9),
          unit: 'ms',
          target: 1500,
          cmp: 'le',
          baseline,
          baselineLabel: 'fs.watch + 500 ms quiet',
          samples: latencies,
        },
      ],
      details: { latenciesMs: latencies, fsWatchMs: watchLatencies, debounceQuietMs: DEBOUNCE_QUIET_MS },
    };
  },
};
