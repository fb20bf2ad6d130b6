// A real Prometheus (Debian `prometheus` 2.42, installed by scripts/bootstrap.sh) for tests.
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type RunningProcess, startProcess, type TempDir, tempDir, waitFor } from '@keel/testing';
import { parse, stringify } from 'yaml';

export function findPrometheus(): string {
  for (const p of ['/usr/bin/prometheus', '/usr/local/bin/prometheus']) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new Error('prometheus is missing: run scripts/bootstrap.sh (apt-get install -y prometheus)');
}

export interface PromServer {
  url: string;
  /** GET /api/v1/query at now; throws on an HTTP or PromQL error, naming the query. */
  query(q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  labelValues(label: string, match: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts Prometheus with `configFile`'s scrape jobs, each job's targets replaced by `targets[job]`
 * (a job with no entry points at a closed port, so it is scraped as down), every 1 s.
 */
export async function startPrometheus(
  configFile: string,
  targets: Record<string, string>,
): Promise<PromServer> {
  const bin = findPrometheus();
  const dir: TempDir = await tempDir('prometheus');
  const cfg = parse(readFileSync(configFile, 'utf8')) as {
    global?: Record<string, unknown>;
    scrape_configs: Array<Record<string, any>>;
  };
  const closed = `127.0.0.1:${await freePort()}`;
  cfg.global = { ...cfg.global, scrape_interval: '1s', scrape_timeout: '900ms' };
  for (const job of cfg.scrape_configs) job.static_configs = [{ targets: [targets[job.job_name] ?? closed] }];
  const file = join(dir.path, 'prometheus.yml');
  writeFileSync(file, stringify(cfg));
  const port = await freePort();
  let proc: RunningProcess | undefined;
  try {
    proc = await startProcess(
      bin,
      [
        `--config.file=${file}`,
        `--storage.tsdb.path=${join(dir.path, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { timeoutMs: 20_000 },
    );
  } catch (e) {
    await dir.cleanup();
    throw e;
  }
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    () =>
      fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      ),
    { timeoutMs: 20_000, what: 'prometheus /-/ready' },
  ).catch(async (e) => {
    await proc!.stop();
    throw new Error(`${(e as Error).message}: ${proc!.stderrLines.slice(-5).join(' | ')}`);
  });
  return {
    url,
    async query(q) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: unknown };
      };
      if (body.status !== 'success') throw new Error(`query failed: ${body.error} -- ${q}`);
      const r = body.data!.result;
      if (body.data!.resultType === 'scalar') return [{ metric: {}, value: r as [number, string] }];
      return r as Array<{ metric: Record<string, string>; value: [number, string] }>;
    },
    async labelValues(label, match) {
      const res = await fetch(`${url}/api/v1/label/${label}/values?match[]=${encodeURIComponent(match)}`);
      const body = (await res.json()) as { status: string; data: string[]; error?: string };
      if (body.status !== 'success') throw new Error(`label values failed: ${body.error}`);
      return body.data;
    },
    async stop() {
      await proc!.stop();
      await dir.cleanup();
    },
  };
}
