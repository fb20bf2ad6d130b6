import { EventEmitter } from 'node:events';
import type { Bus, EventOf } from '@keel/bus';
import { withTimeout } from '@keel/testing';

/** Everything observed so far, with a way to await the first entry (seen or future) that matches. */
export class Recorder<T> {
  readonly items: { value: T; at: number }[] = [];
  private readonly emitter = new EventEmitter();

  /** Records `value` with the time it arrived (`performance.now()`). */
  push(value: T): void {
    const entry = { value, at: performance.now() };
    this.items.push(entry);
    this.emitter.emit('item', entry);
  }

  /** A position to pass as `since`, so only later entries count. */
  mark(): number {
    return this.items.length;
  }

  /** Resolves with the first entry at index >= `since` matching `pred`; rejects after `timeoutMs`. */
  next(
    pred: (value: T) => boolean,
    what: string,
    timeoutMs = 5000,
    since = 0,
  ): Promise<{ value: T; at: number }> {
    const seen = this.items.slice(since).find((e) => pred(e.value));
    if (seen) return Promise.resolve(seen);
    let listener: (e: { value: T; at: number }) => void = () => {};
    const found = new Promise<{ value: T; at: number }>((resolve) => {
      listener = (e) => {
        if (pred(e.value)) resolve(e);
      };
      this.emitter.on('item', listener);
    });
    return withTimeout(found, timeoutMs, what).finally(() => this.emitter.off('item', listener));
  }
}

/** Records every message published on `subject` (decoded JSON); call the returned `stop` when done. */
export function recordSubject<S extends string>(
  bus: Bus,
  subject: S,
): { recorder: Recorder<EventOf<S>>; stop: () => void } {
  const recorder = new Recorder<EventOf<S>>();
  const stop = bus.subscribe(subject, (event) => recorder.push(event as EventOf<S>));
  return { recorder, stop };
}
