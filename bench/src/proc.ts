import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nodeOptions } from '@keel/local';
import type { BenchContext } from './types.js';

export interface ServerProcess {
  pid: number;
  /** The parsed JSON of the ready line. */
  ready: Record<string, unknown>;
  /** Writes one line to the child's stdin. */
  send(line: string): void;
  /** Resolves with the next JSON line (stdout or stderr) whose `msg` is `msg`. */
  next(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Last output lines, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once exited. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts `node <script> args` pinned to the server core; resolves once a JSON log line has `msg === readyMsg`. */
export async function startServer(
  ctx: BenchContext,
  script: string,
  args: string[],
  readyMsg: string,
  timeoutMs = 30_000,
  service?: string,
): Promise<ServerProcess> {
  // The service's own node flags as deployed (deploy/node-options.json), then KEEL_BENCH_NODE_ARGS: extra
  // node flags for servers under test (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const deployed = service ? nodeOptions(ctx.repoRoot, service) : [];
  const extra = (process.env.KEEL_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const nodeArgs = [...deployed, ...extra];
  const argv = [...ctx.serverPrefix, process.execPath, ...nodeArgs, join(ctx.repoRoot, script), ...args];
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: ctx.repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: string[] = [];
  const waiters = new Set<{ msg: string; resolve: (o: Record<string, unknown>) => void }>();
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      exitInfo = `exited with ${code ?? signal}`;
      resolve();
    }),
  );
  // KEEL_BENCH_SERVER_LOG=<file>: every line the servers print, appended (for investigating a run).
  const logFile = process.env.KEEL_BENCH_SERVER_LOG;
  const onLine = (line: string) => {
    if (logFile) appendFileSync(logFile, `${script} ${line}\n`);
    lines.push(line);
    if (lines.length > 50) lines.shift();
    if (!line.startsWith('{') || waiters.size === 0) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    for (const w of waiters) {
      if (o.msg === w.msg) {
        waiters.delete(w);
        w.resolve(o);
      }
    }
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const tail = () => lines.slice(-20).join('\n');
  const next = (msg: string, ms = 30_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const w = {
        msg,
        resolve: (o: Record<string, unknown>) => {
          clearTimeout(timer);
          clearInterval(poll);
          resolve(o);
        },
      };
      const fail = (why: string) => {
        waiters.delete(w);
        clearTimeout(timer);
        clearInterval(poll);
        reject(new Error(`${script}: ${why} before "${msg}"; last output:\n${tail()}`));
      };
      const timer = setTimeout(() => fail(`no line within ${ms} ms`), ms);
      const poll = setInterval(() => exitInfo && fail(exitInfo), 100);
      waiters.add(w);
    });
  const stop = async () => {
    if (exitInfo) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  let ready: Record<string, unknown>;
  try {
    ready = await next(readyMsg, timeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }
  if (child.pid === undefined) throw new Error(`${script} has no pid`);
  // taskset execs the command in place, so this pid is node's own.
  return { pid: child.pid, ready, send: (l) => child.stdin.write(`${l}\n`), next, tail, stop };
}

/** Resident set size of a process in bytes (VmRSS from /proc), or NaN when unreadable. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat; NaN when unreadable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

/** Least-squares slope of `ys` over `xs` (units of y per unit of x); NaN with fewer than 2 points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return Number.NaN;
  const mx = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const my = ys.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}
