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

export interface DebounceStats {
  quiesceReached: number;
  maxReached: number;
  resets: number;
}

/**
 * Calls `fire` once events stop for `quietMs`, or `maxMs` after the first unfired event, whichever
 * comes first (Galley's snapshot strategy: 500 ms quiet, 1 s at most).
 */
export class Debouncer {
  private first = 0;
  private handle: unknown;
  readonly stats: DebounceStats = { quiesceReached: 0, maxReached: 0, resets: 0 };

  constructor(
    private readonly quietMs: number,
    private readonly maxMs: number,
    private readonly fire: () => void,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Records one event. */
  trigger(): void {
    const now = this.timers.now();
    if (this.handle === undefined) {
      this.first = now;
    } else {
      this.timers.clearTimeout(this.handle);
      this.stats.resets++;
    }
    const untilMax = this.first + this.maxMs - now;
    const wait = Math.max(0, Math.min(this.quietMs, untilMax));
    const byMax = untilMax <= this.quietMs;
    this.handle = this.timers.setTimeout(() => {
      this.handle = undefined;
      if (byMax) this.stats.maxReached++;
      else this.stats.quiesceReached++;
      this.fire();
    }, wait);
  }

  /** Fires now if an event is pending. */
  flush(): void {
    if (this.handle === undefined) return;
    this.timers.clearTimeout(this.handle);
    this.handle = undefined;
    this.fire();
  }

  cancel(): void {
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
  }
}
