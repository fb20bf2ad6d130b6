// The sidecar injection row: a real injector process (HTTPS /inject, the shipped template and values)
// against a no-op HTTPS AdmissionReview server, both on the server core, driven from this process.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@keel/testing';
import { AdmissionLoad, fourKbPod, type LoadResult, reviewBody } from './inject-load.js';
import { type ServerProcess, startServer } from './proc.js';
import { median, quantile } from './stats.js';
import type { BenchContext, Benchmark, BenchResult, Row } from './types.js';

const RATE = 1000;
const CONCURRENCY = 16;

function selfSigned(dir: string): { cert: string; key: string; ca: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'].concat([
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { stdio: 'ignore' },
  );
  return { cert, key, ca: readFileSync(cert, 'utf8') };
}

interface Side {
  rates: number[];
  /** p99 with one request in flight: one admission's latency as the API server sees it. */
  seqP99s: number[];
  p99s: number[];
  p50s: number[];
  errors: number;
  patched: number;
  requests: number;
}

async function measure(ctx: BenchContext, load: AdmissionLoad, side: Side, label: string): Promise<void> {
  const closedN = ctx.quick ? 400 : 4000;
  const openN = ctx.quick ? 400 : 3000;
  const seqN = ctx.quick ? 200 : 1000;
  const add = (r: LoadResult) => {
    side.errors += r.errors;
    side.patched += r.patched;
    side.requests += r.latencies.length;
  };
  const c = await load.closed(closedN, CONCURRENCY);
  add(c);
  side.rates.push((closedN * 1000) / c.elapsedMs);
  const q = await load.closed(seqN, 1);
  add(q);
  side.seqP99s.push(quantile(q.latencies, 0.99));
  const o = await load.open(openN, RATE);
  add(o);
  side.p99s.push(quantile(o.latencies, 0.99));
  side.p50s.push(quantile(o.latencies, 0.5));
  ctx.log(
    `inject ${label}: ${side.rates.at(-1)!.toFixed(0)} admissions/s (closed loop, ${CONCURRENCY} in flight); ` +
      `one in flight p99 ${side.seqP99s.at(-1)!.toFixed(2)} ms; ` +
      `at ${RATE}/s p50 ${side.p50s.at(-1)!.toFixed(2)} ms p99 ${side.p99s.at(-1)!.toFixed(2)} ms`,
  );
}

export const injectBench: Benchmark = {
  name: 'inject',
  description: `sidecar injector process: AdmissionReview v1 of a 4 KB pod over HTTPS (admissions/s, p99 at ${RATE}/s)`,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const dir = await tempDir('bench-inject');
    const tls = selfSigned(dir.path);
    const files = join(ctx.repoRoot, 'services/sidecar-injector/files');
    const pod = fourKbPod();
    const podBytes = Buffer.byteLength(JSON.stringify(pod));
    const body = reviewBody(pod, 'bench');
    let injector: ServerProcess | undefined;
    let baseline: ServerProcess | undefined;
    const loads: AdmissionLoad[] = [];
    const mine: Side = { rates: [], seqP99s: [], p99s: [], p50s: [], errors: 0, patched: 0, requests: 0 };
    const base: Side = { rates: [], seqP99s: [], p99s: [], p50s: [], errors: 0, patched: 0, requests: 0 };
    try {
      injector = await startServer(
        ctx,
        'services/sidecar-injector/dist/src/main.js',
        ['--host', '127.0.0.1', '--port', '0', '--monitoring-port', '0', '--tls-cert', tls.cert]
          .concat(['--tls-key', tls.key, '--inject-config', join(files, 'config.yaml')])
          .concat(['--inject-values', join(files, 'values.json')]),
        'sidecar injector listening',
      );
      const injectorLoad = new AdmissionLoad(Number(injector.ready.port), tls.ca, body, CONCURRENCY);
      loads.push(injectorLoad);
      const useBaseline = !ctx.noBaseline;
      let baselineLoad: AdmissionLoad | undefined;
      if (useBaseline) {
        baseline = await startServer(
          ctx,
          'bench/dist/src/inject-baseline-server.js',
          ['--tls-cert', tls.cert, '--tls-key', tls.key],
          'baseline listening',
        );
        baselineLoad = new AdmissionLoad(Number(baseline.ready.port), tls.ca, body, CONCURRENCY);
        loads.push(baselineLoad);
      }
      // Warm-up (JIT, TLS sessions, template caches), not measured.
      await injectorLoad.closed(ctx.quick ? 200 : 1000, CONCURRENCY);
      if (baselineLoad) await baselineLoad.closed(ctx.quick ? 200 : 1000, CONCURRENCY);
      for (let run = 0; run < ctx.runs; run++) {
        if (!ctx.baselineOnly) await measure(ctx, injectorLoad, mine, `run ${run + 1} injector`);
        if (baselineLoad) await measure(ctx, baselineLoad, base, `run ${run + 1} no-op baseline`);
      }
    } finally {
      for (const l of loads) l.close();
      await injector?.stop();
      await baseline?.stop();
      await dir.cleanup();
    }
    const skipped = ctx.baselineOnly ? 'baseline only' : undefined;
    const errNote = `${mine.errors} errors, ${mine.patched}/${mine.requests} answers patched; pod ${podBytes} bytes`;
    const rows: Row[] = [
      {
        name: 'inject admissions/s',
        figure: skipped ? Number.NaN : median(mine.rates),
        unit: '/s',
        target: 1000,
        cmp: 'ge',
        ...(base.rates.length > 0
          ? { baseline: median(base.rates), baselineLabel: 'no-op HTTPS review' }
          : {}),
        samples: mine.rates,
        note: `closed loop, ${CONCURRENCY} in flight; ${errNote}`,
        ...(skipped ? { skipped } : {}),
      },
      {
        name: 'inject p99 one in flight',
        figure: skipped ? Number.NaN : median(mine.seqP99s),
        unit: 'ms',
        target: 5,
        cmp: 'le',
        ...(base.seqP99s.length > 0
          ? { baseline: median(base.seqP99s), baselineLabel: 'no-op HTTPS review' }
          : {}),
        samples: mine.seqP99s,
        note: 'sequential admissions on one keep-alive connection',
        ...(skipped ? { skipped } : {}),
      },
      {
        name: `inject p99 at ${RATE}/s`,
        figure: skipped ? Number.NaN : median(mine.p99s),
        unit: 'ms',
        target: 5,
        cmp: 'le',
        ...(base.p99s.length > 0 ? { baseline: median(base.p99s), baselineLabel: 'no-op HTTPS review' } : {}),
        samples: mine.p99s,
        note: `open loop from the scheduled send time; p50 ${median(mine.p50s).toFixed(2)} ms`,
        ...(skipped ? { skipped } : {}),
      },
    ];
    if (mine.errors > 0 || (!skipped && mine.patched !== mine.requests)) {
      for (const r of rows)
        r.skipped = `${mine.errors} failed requests, ${mine.requests - mine.patched} without a patch`;
    }
    return {
      rows,
      details: { injector: mine, baseline: base, podBytes, rate: RATE, concurrency: CONCURRENCY },
    };
  },
};
