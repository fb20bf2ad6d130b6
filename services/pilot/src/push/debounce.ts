// Push debouncing: requests merge; a push fires after a quiet period or a maximum delay, one at a time.
import type { Logger } from '@keel/runtime';
import { mergePushRequests, type PushRequest } from '../server/config-store.js';

export interface DebounceOptions {
  /** Quiet time after the last request (PILOT_DEBOUNCE_AFTER, 100 ms). */
  afterMs: number;
  /** Longest delay after the first request (PILOT_DEBOUNCE_MAX, 10 s). */
  maxMs: number;
  /** Runs one merged push; never called concurrently. A rejection is logged. */
  run: (request: PushRequest) => Promise<void>;
  logger: Logger;
}

/** Merges push requests and runs them one at a time; requests arriving during a push wait for the next one. */
export class PushDebouncer {
  private pending?: PushRequest;
  private firstAt = 0;
  private lastAt = 0;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly opts: DebounceOptions) {}

  /** Adds a request to the pending push. */
  request(req: PushRequest): void {
    if (this.stopped) return;
    const now = Date.now();
    if (!this.pending) this.firstAt = now;
    this.pending = this.pending ? mergePushRequests(this.pending, req) : req;
    this.lastAt = now;
    this.schedule();
  }

  /** Adds a request and fires as soon as no push is running (no debounce). */
  requestNow(req: PushRequest): void {
    if (this.stopped) return;
    if (!this.pending) this.firstAt = Date.now();
    this.pending = this.pending ? mergePushRequests(this.pending, req) : req;
    this.lastAt = 0;
    this.firstAt = 0;
    this.schedule();
  }

  /** True while a push is pending or running. */
  busy(): boolean {
    return this.pending !== undefined || this.running !== undefined;
  }

  /** Drops pending requests and waits for a running push to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    await this.running;
  }

  private schedule(): void {
    if (this.running || !this.pending) return;
    clearTimeout(this.timer);
    const due = Math.min(this.lastAt + this.opts.afterMs, this.firstAt + this.opts.maxMs);
    this.timer = setTimeout(() => this.fire(), Math.max(0, due - Date.now()));
  }

  private fire(): void {
    this.timer = undefined;
    const req = this.pending;
    if (!req || this.running || this.stopped) return;
    this.pending = undefined;
    this.running = this.opts
      .run(req)
      .catch((err) => this.opts.logger.error({ err }, 'push failed'))
      .finally(() => {
        this.running = undefined;
        this.schedule();
      });
  }
}
