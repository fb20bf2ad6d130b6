import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface StartProcessOptions {
  /** Added to (and overriding) the parent's environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Resolve start once a line on stdout or stderr matches; without it, resolve once spawned. */
  readyLine?: RegExp;
  /** How long to wait for `readyLine` (default 10000 ms). */
  timeoutMs?: number;
}

export interface RunningProcess {
  proc: ChildProcess;
  /** Every stdout line so far, in order (live array). */
  stdoutLines: string[];
  /** Every stderr line so far, in order (live array). */
  stderrLines: string[];
  /** Resolves with the first line (stdout or stderr, already seen or future) matching `re`. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Children must not outlive a crashed test run. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

interface Waiter {
  re: RegExp;
  resolve(line: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Spawns `cmd args` with piped output, collecting lines; resolves once `readyLine` is seen. */
export async function startProcess(
  cmd: string,
  args: string[],
  options: StartProcessOptions = {},
): Promise<RunningProcess> {
  installExitHook();
  const proc = spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  const allLines: string[] = [];
  const waiters = new Set<Waiter>();
  let exitInfo: string | undefined;

  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      exitInfo = `exited with ${code ?? signal}`;
      resolve(code ?? signal ?? 'unknown');
    });
    // A failed spawn emits 'error' and never 'exit'.
    proc.once('error', (err) => {
      if (proc.pid !== undefined) return;
      live.delete(proc);
      exitInfo = `failed to start (${err.message})`;
      resolve('spawn-error');
    });
  });
  const tail = () => allLines.slice(-20).join('\n');
  const closeStreams = Promise.all(
    [proc.stdout, proc.stderr].map((s) => new Promise((r) => s.once('close', r))),
  );
  const spawnError = new Promise<never>((_, reject) => proc.once('error', reject));
  spawnError.catch(() => {});

  const onLine = (sink: string[]) => (line: string) => {
    sink.push(line);
    allLines.push(line);
    for (const w of waiters) {
      if (w.re.test(line)) {
        waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: proc.stdout }).on('line', onLine(stdoutLines));
  createInterface({ input: proc.stderr }).on('line', onLine(stderrLines));
  // Once output is drained after exit, nothing more can match.
  void Promise.all([exited, closeStreams]).then(() => {
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(`${cmd} ${exitInfo} before printing ${w.re}; last output:\n${tail()}`));
    }
    waiters.clear();
  });

  const waitForLine = (re: RegExp, timeoutMs = 10000): Promise<string> => {
    const seen = allLines.find((line) => re.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    if (exitInfo !== undefined && proc.stdout.closed && proc.stderr.closed) {
      return Promise.reject(new Error(`${cmd} ${exitInfo} before printing ${re}; last output:\n${tail()}`));
    }
    return new Promise<string>((resolve, reject) => {
      const waiter: Waiter = {
        re,
        resolve,
        reject,
        timer: setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${cmd}: no line matching ${re} within ${timeoutMs} ms; last output:\n${tail()}`));
        }, timeoutMs),
      };
      waiters.add(waiter);
    });
  };

  const stop = async (): Promise<void> => {
    if (exitInfo !== undefined) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const running: RunningProcess = { proc, stdoutLines, stderrLines, waitForLine, exited, stop };
  try {
    await Promise.race([new Promise((r) => proc.once('spawn', r)), spawnError]);
    if (options.readyLine) await waitForLine(options.readyLine, options.timeoutMs ?? 10000);
  } catch (err) {
    await stop();
    throw err;
  }
  return running;
}
