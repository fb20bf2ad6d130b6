// Push debouncing: libs/runtime's Debouncer with Pilot's merge of PushRequests and its log line.
import { Debouncer, type Logger } from '@keel/runtime';
import { mergePushRequests, type PushRequest } from '../server/config-store.js';

export interface PushDebounceOptions {
  /** Quiet time after the last request (PILOT_DEBOUNCE_AFTER, 100 ms). */
  afterMs: number;
  /** Longest delay after the first request (PILOT_DEBOUNCE_MAX, 10 s). */
  maxMs: number;
  /** Runs one merged push; never called concurrently. A rejection is logged as `push failed`. */
  run: (request: PushRequest) => Promise<void>;
  logger: Logger;
}

/**
 * Merges push requests (`trigger`, or `triggerNow` to skip the quiet period) and runs them one at a
 * time; requests arriving during a push wait for the next one. `stop()` drops pending requests and
 * waits for a running push.
 */
export function createPushDebouncer(opts: PushDebounceOptions): Debouncer<PushRequest> {
  return new Debouncer<PushRequest>({
    quietMs: opts.afterMs,
    maxMs: opts.maxMs,
    merge: mergePushRequests,
    run: opts.run,
    onError: (err) => opts.logger.error({ err }, 'push failed'),
  });
}
