// The one debouncer: Galley's snapshot strategy and Pilot's pushes both run on it.

/** Timer functions, injectable so tests drive time explicitly. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

/** Counts of why runs fired, and of events that arrived while one was already pending. */
export interface DebounceStats {
  /** Fired because events stopped for the quiet period. */
  quiesceReached: number;
  /** Fired because the maximum delay after the first unfired event passed. */
  maxReached: number;
  /** Events that arrived while an earlier one was still unfired (each restarts the quiet period). */
  resets: number;
}

export interface DebounceOptions<T> {
  /** Quiet time after the last event before firing. */
  quietMs: number;
  /** Longest delay after the first unfired event. */
  maxMs: number;
  /**
   * Runs the merged value of the events since the last run. Never called concurrently: events
   * arriving while it runs (or returns a pending promise) wait for the next run.
   */
  run: (value: T) => void | Promise<void>;
  /** Combines a pending value with a new event's; defaults to keeping the newer value. */
  merge?: (pending: T, next: T) => T;
  /** Told of a run that threw or rejected; the debouncer carries on. Defaults to ignoring it. */
  onError?: (err: unknown) => void;
  /** Told of each stat as it is counted (to feed metrics). */
  onStat?: (stat: keyof DebounceStats) => void;
  timers?: Timers;
}

/**
 * Calls `run` once events stop for `quietMs`, or `maxMs` after the first unfired event, whichever
 * comes first, with the events' values merged. One run at a time; events during a run fire after
 * it, their quiet period and maximum delay counted from their own arrival.
 */
export class Debouncer<T> {
  readonly stats: DebounceStats = { quiesceReached: 0, maxReached: 0, resets: 0 };
  private readonly timers: Timers;
  private hasPending = false;
  private value: T | undefined;
  private firstAt = 0;
  private lastAt = 0;
  /** Fire as soon as no run is active, without waiting for quiet. */
  private urgent = false;
  private handle: unknown;
  /** Why the armed timer fires: the maximum delay (true) or the quiet period. */
  private byMax = false;
  /** True from the call of `run` until it returns, or until its promise settles. */
  private active = false;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: DebounceOptions<T>) {
    this.timers = opts.timers ?? realTimers;
  }

  /** Records one event. */
  trigger(value: T): void {
    if (this.add(value)) this.schedule();
  }

  /** Records one event and fires as soon as no run is active (no quiet period, no stats). */
  triggerNow(value: T): void {
    if (!this.add(value)) return;
    this.urgent = true;
    this.schedule();
  }

  /** Fires a pending event now, or right after the active run. */
  flush(): void {
    if (!this.hasPending || this.stopped) return;
    this.urgent = true;
    if (this.active) return;
    this.clearTimer();
    this.fire(false);
  }

  /** Drops the pending event, if any; later events are handled as usual. */
  cancel(): void {
    this.clearTimer();
    this.hasPending = false;
    this.value = undefined;
    this.urgent = false;
  }

  /** Drops the pending event, ignores later ones, and resolves once the active run has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel();
    await this.running;
  }

  /** True while an event is pending or a run is active. */
  busy(): boolean {
    return this.hasPending || this.active;
  }

  /** Merges an event into the pending value; false once stopped. */
  private add(value: T): boolean {
    if (this.stopped) return false;
    const now = this.timers.now();
    if (this.hasPending) {
      const merge = this.opts.merge;
      this.value = merge ? merge(this.value as T, value) : value;
      this.count('resets');
    } else {
      this.hasPending = true;
      this.value = value;
      this.firstAt = now;
    }
    this.lastAt = now;
    return true;
  }

  /** (Re)arms the timer for the pending event, unless a run is active (it re-schedules when done). */
  private schedule(): void {
    if (!this.hasPending || this.active) return;
    this.clearTimer();
    const quietAt = this.lastAt + this.opts.quietMs;
    const maxAt = this.firstAt + this.opts.maxMs;
    const wait = this.urgent ? 0 : Math.max(0, Math.min(quietAt, maxAt) - this.timers.now());
    this.handle = this.timers.setTimeout(() => {
      this.handle = undefined;
      this.fire(true);
    }, wait);
    this.byMax = maxAt <= quietAt;
  }

  private fire(byTimer: boolean): void {
    if (!this.hasPending || this.active || this.stopped) return;
    if (byTimer && !this.urgent) this.count(this.byMax ? 'maxReached' : 'quiesceReached');
    const value = this.value as T;
    this.hasPending = false;
    this.value = undefined;
    this.urgent = false;
    this.active = true;
    let result: unknown;
    try {
      result = this.opts.run(value);
    } catch (err) {
      this.report(err);
      result = undefined;
    }
    if (isPromiseLike(result)) {
      this.running = Promise.resolve(result).then(
        () => this.done(),
        (err) => {
          this.report(err);
          this.done();
        },
      );
      return;
    }
    this.done();
  }

  private done(): void {
    this.active = false;
    this.running = undefined;
    this.schedule();
  }

  private report(err: unknown): void {
    try {
      this.opts.onError?.(err);
    } catch {
      // A failing error handler must not stop the debouncer.
    }
  }

  private count(stat: keyof DebounceStats): void {
    this.stats[stat]++;
    this.opts.onStat?.(stat);
  }

  private clearTimer(): void {
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
  }
}

function isPromiseLike(x: unknown): x is PromiseLike<unknown> {
  return typeof (x as { then?: unknown } | undefined)?.then === 'function';
}
