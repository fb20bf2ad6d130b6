import type { EventEmitter } from 'node:events';

/** Rejects with `${what} timed out after ${ms} ms` unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The arguments of the next `event` on `emitter`; rejects on 'error' or after `timeoutMs`. */
export function once<T extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  event: string,
  timeoutMs = 5000,
): Promise<T> {
  let cleanup = () => {};
  const fired = new Promise<T>((resolve, reject) => {
    const onEvent = (...args: unknown[]) => resolve(args as T);
    const onError = (err: unknown) => reject(err);
    emitter.once(event, onEvent);
    if (event !== 'error') emitter.once('error', onError);
    cleanup = () => {
      emitter.off(event, onEvent);
      emitter.off('error', onError);
    };
  });
  return withTimeout(fired, timeoutMs, `event '${event}'`).finally(() => cleanup());
}

export interface WaitForOptions {
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Named in the timeout error. */
  what?: string;
  /** Time between checks (default 50 ms). */
  intervalMs?: number;
}

/**
 * Polls `check` until it returns true. Only for observing another process's state (its HTTP
 * endpoints, files it writes) when no event or log line exists; in-process code must await events.
 * A check that throws counts as "not yet"; its last error is quoted in the timeout error.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 5000, what = 'condition', intervalMs = 50 }: WaitForOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? '' : `: last error ${String(lastError)}`;
      throw new Error(`waitFor ${what} timed out after ${timeoutMs} ms${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
