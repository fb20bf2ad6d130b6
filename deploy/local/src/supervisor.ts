import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Child {
  name: string;
  proc: ChildProcess;
  /** Resolves with the parsed JSON of the first log line whose msg matches, e.g. 'galley listening'. */
  waitForLog(msg: string, timeoutMs: number): Promise<Record<string, unknown>>;
  /** Resolves with the first output line matching `re` (for non-JSON output such as nats-server's). */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM, SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

const COLORS: Record<string, string> = { galley: '36', pilot: '35', nats: '33', demo: '32', keel: '1' };
const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** One line for the console: `12:00:01 galley info snapshot published {"version":"3"}`. */
export function formatLine(name: string, line: string, color: boolean): string {
  const tag = color ? `\x1b[${COLORS[name] ?? '0'}m${name.padEnd(6)}\x1b[0m` : name.padEnd(6);
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${tag} ${line}`;
  }
  const { level, time, msg, component: _c, pid: _p, hostname: _h, ...rest } = parsed;
  const when = typeof time === 'string' ? time.slice(11, 19) : '';
  const lvl = typeof level === 'number' ? (LEVELS[level] ?? String(level)) : String(level ?? '');
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  return `${when} ${tag} ${lvl.padEnd(5)} ${String(msg ?? '')}${extra}`;
}

/** Spawns a service, echoes its output through `print`, and lets the caller wait for log lines. */
export function startChild(
  name: string,
  cmd: string,
  args: string[],
  print: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => resolve(code));
    proc.once('error', (err) => {
      print(`failed to start: ${err.message}`);
      resolve(-1);
    });
  });
  type Waiter = {
    match(line: string, parsed: Record<string, unknown> | undefined): boolean;
    resolve(line: string, parsed: Record<string, unknown> | undefined): void;
  };
  const waiters: Waiter[] = [];
  const onLine = (line: string) => {
    print(line);
    if (waiters.length === 0) return;
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
    for (const w of [...waiters]) {
      if (w.match(line, parsed)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line, parsed);
      }
    }
  };
  const wait = <T>(
    what: string,
    timeoutMs: number,
    match: Waiter['match'],
    pick: (line: string, parsed: Record<string, unknown> | undefined) => T,
  ) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name}: no ${what} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (code ${code}) before ${what}`));
      });
      waiters.push({
        match,
        resolve: (line, parsed) => {
          clearTimeout(timer);
          resolve(pick(line, parsed));
        },
      });
    });
  createInterface({ input: proc.stdout! }).on('line', onLine);
  createInterface({ input: proc.stderr! }).on('line', onLine);
  return {
    name,
    proc,
    exited,
    waitForLog(msg, timeoutMs) {
      return wait(
        `'${msg}' log line`,
        timeoutMs,
        (_l, p) => p?.msg === msg,
        (_l, p) => p!,
      );
    },
    waitForLine(re, timeoutMs) {
      return wait(
        `line matching ${re}`,
        timeoutMs,
        (l) => re.test(l),
        (l) => l,
      );
    },
    async stop(graceMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
