// telemetry (ALS): a real mixer-telemetry process (core 0, default Istio 1.4 config from a real
// Galley) takes Envoy-shaped access-log streams from this process (core 1); entries/s against a
// no-op access-log server in the same run; then the scrape time of the prometheus adapter.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, waitFor } from '@keel/testing';
import { startServer } from './proc.js';
import { median, nowMs, round } from './stats.js';
import { benchMesh, encodeReporterMessages, sendStreams } from './telemetry-load.js';
import type { BenchContext, Benchmark, BenchResult, Row } from './types.js';

const REPORTERS = 8;
const SOURCES = 11;
const PER_MESSAGE = 100;

/** utime + stime of a process in seconds (/proc/<pid>/stat, 100 ticks/s), NaN when unreadable. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Entries/s by wall clock, and entries per CPU-second of the server (robust on a shared machine). */
async function throughput(
  address: string,
  streams: Buffer[][],
  entries: number,
  pid: number,
): Promise<{ wall: number; perCpu: number }> {
  const c0 = cpuSeconds(pid);
  const t0 = nowMs();
  await sendStreams(address, streams);
  const wall = entries / ((nowMs() - t0) / 1000);
  return { wall, perCpu: entries / (cpuSeconds(pid) - c0) };
}

export const telemetryBench: Benchmark = {
  name: 'telemetry',
  description: 'mixer-telemetry process: Envoy access-log entries/s into istio_* metrics; scrape time',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const messages = ctx.quick ? 10 : 50;
    const dir = await tempDir('bench-telemetry');
    const mesh = benchMesh(REPORTERS + SOURCES);
    writeFileSync(join(dir.path, 'mesh.yaml'), mesh.yaml);
    copyFileSync(
      join(ctx.repoRoot, 'deploy/local/config/istio-telemetry.yaml'),
      join(dir.path, 'istio-telemetry.yaml'),
    );
    const reporters = mesh.pods.slice(0, REPORTERS);
    const sources = mesh.pods.slice(REPORTERS);
    const streams = reporters.map((r) => encodeReporterMessages(r, sources, messages, PER_MESSAGE));
    const entries = REPORTERS * messages * PER_MESSAGE;
    const samples: number[] = [];
    const baseline: number[] = [];
    const cpuSamples: number[] = [];
    const cpuBaseline: number[] = [];
    const scrapes: number[] = [];
    let seriesLines = 0;
    const galley = await startServer(
      { ...ctx, serverPrefix: [] },
      'services/galley/dist/src/main.js',
      ['--config-dir', dir.path, '--mcp-port', '0', '--monitoring-port', '0', '--host', '127.0.0.1'],
      'galley listening',
    );
    try {
      const telemetry = await startServer(
        ctx,
        'services/mixer-telemetry/dist/src/main.js',
        [
          '--mcp-address',
          `127.0.0.1:${galley.ready.mcpPort}`,
          '--grpc-port',
          '0',
          '--metrics-port',
          '0',
          '--monitoring-port',
          '0',
          '--host',
          '127.0.0.1',
        ],
        'mixer-telemetry listening',
      );
      try {
        const { grpcPort, metricsPort, monitoringPort } = telemetry.ready as Record<string, number>;
        await waitFor(
          () =>
            fetch(`http://127.0.0.1:${monitoringPort}/ready`).then(
              (r) => r.ok,
              () => false,
            ),
          { timeoutMs: 20_000, what: 'mixer-telemetry ready' },
        );
        const address = `127.0.0.1:${grpcPort}`;
        await throughput(address, streams, entries, telemetry.pid); // warm-up
        for (let r = 0; r < ctx.runs; r++) {
          const t = await throughput(address, streams, entries, telemetry.pid);
          samples.push(t.wall);
          cpuSamples.push(t.perCpu);
        }
        for (let r = 0; r < Math.max(ctx.runs * 4, 10); r++) {
          const t0 = nowMs();
          const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
          scrapes.push(nowMs() - t0);
          seriesLines = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
        }
      } finally {
        await telemetry.stop();
      }
    } finally {
      await galley.stop();
      await dir.cleanup();
    }
    if (!ctx.noBaseline) {
      const noop = await startServer(ctx, 'bench/dist/src/als-noop-server.js', [], 'noop als listening');
      try {
        const address = `127.0.0.1:${noop.ready.port}`;
        await throughput(address, streams, entries, noop.pid);
        for (let r = 0; r < ctx.runs; r++) {
          const t = await throughput(address, streams, entries, noop.pid);
          baseline.push(t.wall);
          cpuBaseline.push(t.perCpu);
        }
      } finally {
        await noop.stop();
      }
    }
    const rows: Row[] = [
      {
        name: 'telemetry entries/s',
        figure: round(median(samples)),
        unit: 'entries/s',
        target: 30_000,
        cmp: 'ge',
        ...(baseline.length ? { baseline: round(median(baseline)), baselineLabel: 'no-op ALS server' } : {}),
        samples: samples.map(round),
        note: `${REPORTERS} streams x ${messages} messages x ${PER_MESSAGE} HTTP entries, default istio_* config`,
      },
      {
        name: 'telemetry entries/CPU-s',
        figure: round(median(cpuSamples)),
        unit: 'entries/s',
        target: 30_000,
        cmp: 'ge',
        ...(cpuBaseline.length
          ? { baseline: round(median(cpuBaseline)), baselineLabel: 'no-op ALS server' }
          : {}),
        samples: cpuSamples.map(round),
        note: "entries per CPU-second of the server process (utime+stime): one core's rate, robust when the machine is shared",
      },
      {
        name: 'telemetry scrape',
        figure: round(median(scrapes)),
        unit: 'ms',
        target: 100,
        cmp: 'le',
        samples: scrapes.map(round),
        note: `${seriesLines} series (sample lines) on the prometheus adapter port`,
      },
    ];
    return { rows, details: { entriesPerRun: entries, seriesLines, baseline, cpuBaseline, scrapes } };
  },
};
