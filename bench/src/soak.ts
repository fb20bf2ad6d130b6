// Soak (not part of `npm test` nor of the default benchmarks): real galley and pilot processes,
// N SotW ADS clients, and config files edited in place, saved by rename, broken and restored,
// renamed away and back, in a loop for --minutes. Reports crashes, clients left without config,
// and both processes' memory over time.
//   node bench/dist/src/soak.js --minutes 10 --clients 200
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot, tempDir } from '@keel/testing';
import { AdsLoad } from './ads-load.js';
import { meshFiles } from './galley-ingest.js';
import { proxyNode, specForTotal } from './mesh.js';
import { rssBytes, startServer } from './proc.js';
import { median } from './stats.js';
import type { BenchContext } from './types.js';

interface Args {
  minutes: number;
  clients: number;
  resources: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { minutes: 10, clients: 200, resources: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1]);
    if (argv[i] === '--minutes') a.minutes = v;
    else if (argv[i] === '--clients') a.clients = v;
    else if (argv[i] === '--resources') a.resources = v;
    else continue;
    i++;
  }
  return a;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (m: string) => console.error(`[soak] ${m}`);
  const ctx: BenchContext = {
    runs: 1,
    quick: false,
    baselineOnly: false,
    noBaseline: true,
    serverPrefix: [],
    // KEEL_SOAK_SERVERS_ROOT: run another checkout's built galley and pilot (to compare two builds).
    repoRoot: process.env.KEEL_SOAK_SERVERS_ROOT ?? repoRoot(),
    log,
  };
  const dir = await tempDir('soak');
  const files = meshFiles(args.resources);
  for (const f of files) await writeFile(join(dir.path, f.name), f.text);
  const galley = await startServer(
    ctx,
    'services/galley/dist/src/main.js',
    ['--config-dir', dir.path, '--mcp-port', '0', '--monitoring-port', '0', '--webhook-port', '0'],
    'galley listening',
  );
  // KEEL_SOAK_PILOT_ROOT: only pilot from another checkout (to tell whose memory grows).
  const pilotRoot = process.env.KEEL_SOAK_PILOT_ROOT;
  const pilot = await startServer(
    pilotRoot ? { ...ctx, repoRoot: pilotRoot } : ctx,
    'services/pilot/dist/src/main.js',
    [
      '--mcp-address',
      `127.0.0.1:${galley.ready.mcpPort}`,
      '--grpc-port',
      '0',
      '--http-port',
      '0',
      '--monitoring-port',
      '0',
    ],
    'pilot listening',
  );
  const spec = specForTotal(args.resources);
  const load = new AdsLoad({
    address: `127.0.0.1:${pilot.ready.grpcPort}`,
    nodes: Array.from({ length: args.clients }, (_, i) => proxyNode(spec, i)),
  });
  load.startAll();
  await load.until(() => load.fullCount() >= args.clients, 120_000, 'every client holds config');
  log(`${args.clients} clients hold config; soaking ${args.minutes} min`);

  const samples: Array<{ t: number; galley: number; pilot: number; withConfig: number }> = [];
  const holding = () => load.clients.filter((c) => c.holdsFullConfig()).length;
  const sample = (t: number) =>
    samples.push({ t, galley: rssBytes(galley.pid), pilot: rssBytes(pilot.pid), withConfig: holding() });
  const start = Date.now();
  const end = start + args.minutes * 60_000;
  let actions = 0;
  let crashed = '';
  let nextSample = start;
  while (Date.now() < end && !crashed) {
    const f = files[actions % files.length]!;
    const path = join(dir.path, f.name);
    const text = await readFile(path, 'utf8');
    switch (actions % 5) {
      case 0: // in-place edit
        await writeFile(path, `${text}\n# edit ${actions}\n`);
        break;
      case 1: // editor save by rename
        await writeFile(`${path}.swp`, `${text}\n# save ${actions}\n`);
        await rename(`${path}.swp`, path);
        break;
      case 2: // broken half way, then restored
        await writeFile(path, text.slice(0, Math.floor(text.length / 2)));
        await sleep(700);
        await writeFile(path, text);
        break;
      case 3: // renamed away and back
        await rename(path, `${path}.moved`);
        await sleep(700);
        await rename(`${path}.moved`, path);
        break;
      default: // a deep hostile document appended, then removed
        await writeFile(
          path,
          `${text}---\n{"apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter", "metadata": {"name": "deep", "namespace": "default"}, "spec": {"configPatches": [{"applyTo": "HTTP_FILTER", "patch": {"operation": "MERGE", "value": ${'{"a":'.repeat(80)}1${'}'.repeat(80)}}}]}}\n`,
        );
        await sleep(700);
        await writeFile(path, text);
    }
    actions++;
    await sleep(1000);
    if (!alive(galley.pid)) crashed = `galley exited: ${galley.tail()}`;
    else if (!alive(pilot.pid)) crashed = `pilot exited: ${pilot.tail()}`;
    if (Date.now() >= nextSample) {
      sample(Date.now() - start);
      nextSample += 10_000;
    }
  }
  // Everything restored: every client must hold config again.
  await sleep(3000);
  sample(Date.now() - start);
  const last = samples[samples.length - 1]!;
  const firstThird = samples.slice(0, Math.max(1, Math.floor(samples.length / 3)));
  const lastThird = samples.slice(-Math.max(1, Math.floor(samples.length / 3)));
  const report = {
    minutes: args.minutes,
    clients: args.clients,
    resources: args.resources,
    actions,
    crashed: crashed || null,
    clientErrors: load.errors().length,
    clientsWithoutConfigAtEnd: args.clients - last.withConfig,
    minClientsWithConfig: Math.min(...samples.map((s) => s.withConfig)),
    galleyRssMb: {
      firstThirdMedian: mb(median(firstThird.map((s) => s.galley))),
      lastThirdMedian: mb(median(lastThird.map((s) => s.galley))),
      max: mb(Math.max(...samples.map((s) => s.galley))),
    },
    pilotRssMb: {
      firstThirdMedian: mb(median(firstThird.map((s) => s.pilot))),
      lastThirdMedian: mb(median(lastThird.map((s) => s.pilot))),
      max: mb(Math.max(...samples.map((s) => s.pilot))),
    },
    samples,
  };
  const out = join(repoRoot(), 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  const { samples: _s, ...summary } = report;
  console.log(JSON.stringify(summary, null, 2));
  log(`wrote ${file}`);
  load.close();
  await pilot.stop();
  await galley.stop();
  await dir.cleanup();
  if (crashed || report.clientsWithoutConfigAtEnd > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
