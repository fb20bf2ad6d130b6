// Runs the benchmarks named on the command line (all when none), prints the table, writes JSON results.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caSigning } from './ca-signing.js';
import { galleyFileLatency } from './galley-file-latency.js';
import { galleyIngest } from './galley-ingest.js';
import { injectBench } from './inject-bench.js';
import { policyBench } from './policy-bench.js';
import { formatTable } from './table.js';
import { telemetryBench } from './telemetry-bench.js';
import type { BenchContext, Benchmark, BenchResult } from './types.js';
import { xdsBench } from './xds-bench.js';
import { xdsCost } from './xds-cost.js';
import { xdsScaling } from './xds-scaling.js';

const ALL: Benchmark[] = [
  galleyIngest,
  galleyFileLatency,
  xdsCost,
  xdsBench,
  injectBench,
  policyBench,
  telemetryBench,
  caSigning,
  xdsScaling,
];
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface Args {
  names: string[];
  runs: number;
  quick: boolean;
  baselineOnly: boolean;
  noBaseline: boolean;
  services?: number;
  clients?: number;
  soakMinutes?: number;
}

function positive(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${flag} wants a positive number, got ${v ?? 'nothing'}`);
  return n;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { names: [], runs: 5, quick: false, baselineOnly: false, noBaseline: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--quick') args.quick = true;
    else if (a === '--baseline-only') args.baselineOnly = true;
    else if (a === '--no-baseline') args.noBaseline = true;
    else if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a.startsWith('--runs=')) args.runs = Number(a.slice(7));
    else if (a === '--services') args.services = positive(a, argv[++i]);
    else if (a === '--clients') args.clients = positive(a, argv[++i]);
    else if (a === '--soak') args.soakMinutes = positive(a, argv[++i]);
    else if (a === '--help' || a === '-h') {
      console.log(
        `usage: main.js [--runs N] [--quick] [--baseline-only | --no-baseline] [--services N] [--clients M] [--soak MINUTES] [${ALL.map((b) => b.name).join('|')} ...]`,
      );
      process.exit(0);
    } else args.names.push(a);
  }
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs wants a positive integer');
  if (args.quick && !argv.some((a) => a.startsWith('--runs'))) args.runs = 2;
  return args;
}

/** Pins this process (every thread) to core 1; returns the prefix that pins a child to core 0. */
function pinCores(log: (m: string) => void): string[] {
  if (cpus().length < 2) {
    log('only one core: server and load generator share it (no pinning)');
    return [];
  }
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
    log('pinning: load generator (this process) on core 1, server children on core 0 (taskset)');
    return ['taskset', '-c', '0'];
  } catch {
    log('pinning: taskset not available: server and load generator are NOT pinned to separate cores');
    return [];
  }
}

function writeResult(name: string, args: Args, pinned: boolean, result: BenchResult): string {
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `${name}-${stamp}.json`);
  const body = {
    name,
    timestamp: new Date().toISOString(),
    runs: args.runs,
    quick: args.quick,
    pinned,
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
    ...result,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const unknown = args.names.filter((n) => !ALL.some((b) => b.name === n));
  if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}`);
  const log = (m: string) => console.error(`[bench] ${m}`);
  const serverPrefix = pinCores(log);
  const ctx: BenchContext = {
    runs: args.runs,
    quick: args.quick,
    ...(args.services ? { services: Math.round(args.services) } : {}),
    ...(args.clients ? { clients: Math.round(args.clients) } : {}),
    ...(args.soakMinutes ? { soakMinutes: args.soakMinutes } : {}),
    baselineOnly: args.baselineOnly,
    noBaseline: args.noBaseline,
    serverPrefix,
    repoRoot,
    log,
  };
  // `scaling` runs only when named (it starts four pilots, up to 4,000 services: many minutes).
  const chosen =
    args.names.length > 0
      ? ALL.filter((b) => args.names.includes(b.name))
      : ALL.filter((b) => b !== xdsScaling);
  const rows: BenchResult['rows'] = [];
  let failed = false;
  for (const b of chosen) {
    log(`${b.name}: ${b.description}${args.quick ? ' (quick)' : ''}, ${args.runs} runs`);
    try {
      const result = await b.run(ctx);
      rows.push(...result.rows);
      log(`${b.name}: wrote ${writeResult(b.name, args, serverPrefix.length > 0, result)}`);
    } catch (err) {
      failed = true;
      log(`${b.name} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      rows.push({
        name: b.name,
        figure: Number.NaN,
        unit: '',
        target: 0,
        cmp: 'le',
        samples: [],
        skipped: 'error',
      });
    }
  }
  console.log(formatTable(rows, { runs: args.runs, pinned: serverPrefix.length > 0 }));
  process.exitCode = failed ? 1 : 0;
}

main().then(
  () => process.exit(),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
