import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Debouncer, type Timers } from '../src/index.js';

/** A manual clock: timers fire only when the test advances time. */
function manualTimers() {
  let now = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = ++seq;
      pending.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => {
      pending.delete(h as number);
    },
  };
  const advance = (ms: number) => {
    const target = now + ms;
    for (;;) {
      const next = [...pending.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      if (!next || next[1].at > target) break;
      pending.delete(next[0]);
      now = next[1].at;
      next[1].fn();
    }
    now = target;
  };
  return { timers, advance };
}

/** Galley's snapshot strategy: 500 ms quiet, 1 s max, events without a value. */
function galleyDebouncer(timers: Timers, fire: () => void): Debouncer<void> {
  return new Debouncer<void>({ quietMs: 500, maxMs: 1000, run: fire, timers });
}

describe('Debouncer (500 ms quiet, 1 s max)', () => {
  it('fires once after the quiet period', () => {
    const { timers, advance } = manualTimers();
    let fired = 0;
    const d = galleyDebouncer(timers, () => fired++);
    d.trigger();
    advance(200);
    d.trigger();
    advance(499);
    assert.equal(fired, 0);
    advance(1);
    assert.equal(fired, 1);
    assert.equal(d.stats.quiesceReached, 1);
    assert.equal(d.stats.resets, 1);
  });

  it('fires at the maximum wait under a steady stream of events', () => {
    const { timers, advance } = manualTimers();
    let fired = 0;
    const d = galleyDebouncer(timers, () => fired++);
    for (let t = 0; t < 10; t++) {
      d.trigger();
      advance(300);
    }
    // 3 s of events every 300 ms: never quiet for 500 ms, so it fires each time the 1 s maximum passes.
    assert.equal(fired, 2);
    assert.equal(d.stats.maxReached, 2);
  });

  it('flush fires a pending event at once; cancel drops it', () => {
    const { timers, advance } = manualTimers();
    let fired = 0;
    const d = galleyDebouncer(timers, () => fired++);
    d.flush();
    assert.equal(fired, 0);
    d.trigger();
    d.flush();
    assert.equal(fired, 1);
    d.trigger();
    d.cancel();
    advance(5000);
    assert.equal(fired, 1);
  });
});

/** A promise the test settles by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface AsyncRun {
  value: string[];
  at: number;
  /** Ends the run; resolves once the debouncer has seen it end (its callback was attached first). */
  finish(): Promise<void>;
}

/** Runs that record their value and their start time, and finish when the test says so. */
function asyncRuns(timers: Timers) {
  const runs: AsyncRun[] = [];
  let active = 0;
  let maxActive = 0;
  const run = (value: string[]): Promise<void> => {
    const done = deferred();
    active++;
    maxActive = Math.max(maxActive, active);
    const returned = done.promise.finally(() => {
      active--;
    });
    runs.push({
      value,
      at: timers.now(),
      finish: () => {
        done.resolve();
        return returned;
      },
    });
    return returned;
  };
  const finish = (i: number): Promise<void> => {
    const r = runs[i];
    assert.ok(r, `run ${i} started`);
    return r.finish();
  };
  return { runs, run, finish, maxActive: () => maxActive };
}

const concat = (a: string[], b: string[]): string[] => [...a, ...b];

describe('Debouncer (values, one run at a time)', () => {
  it('merges the values of all events since the last run', () => {
    const { timers, advance } = manualTimers();
    const got: string[][] = [];
    const d = new Debouncer<string[]>({
      quietMs: 100,
      maxMs: 1000,
      merge: concat,
      run: (v) => void got.push(v),
      timers,
    });
    d.trigger(['a']);
    advance(50);
    d.trigger(['b']);
    d.trigger(['c']);
    advance(100);
    assert.deepEqual(got, [['a', 'b', 'c']]);
    d.trigger(['d']);
    advance(100);
    assert.deepEqual(got, [['a', 'b', 'c'], ['d']]);
    assert.deepEqual(d.stats, { quiesceReached: 2, maxReached: 0, resets: 2 });
  });

  it('keeps the newer value when no merge is given', () => {
    const { timers, advance } = manualTimers();
    const got: number[] = [];
    const d = new Debouncer<number>({ quietMs: 100, maxMs: 1000, run: (v) => void got.push(v), timers });
    d.trigger(1);
    d.trigger(2);
    advance(100);
    assert.deepEqual(got, [2]);
  });

  it('never runs concurrently; events during a run fire after it, timed from their own arrival', async () => {
    const { timers, advance } = manualTimers();
    const { runs, run, finish, maxActive } = asyncRuns(timers);
    const d = new Debouncer<string[]>({ quietMs: 100, maxMs: 1000, merge: concat, run, timers });
    d.trigger(['a']);
    advance(100);
    assert.equal(runs.length, 1);
    assert.equal(d.busy(), true);
    // Two events during the run, 50 ms apart; the run lasts far beyond their quiet period.
    advance(10);
    d.trigger(['b']);
    advance(50);
    d.trigger(['c']);
    advance(5000);
    assert.equal(runs.length, 1, 'no second run while the first is active');
    await finish(0);
    // Both quiet and max have passed: the next run is armed with no wait and fires on the next tick.
    advance(0);
    assert.equal(runs.length, 2);
    assert.deepEqual(runs[1]?.value, ['b', 'c']);
    assert.equal(maxActive(), 1);

    // An event during the second run, which then ends before the event's quiet period: it waits
    // the rest of its 100 ms.
    d.trigger(['d']);
    advance(30);
    await finish(1);
    advance(69);
    assert.equal(runs.length, 2);
    advance(1);
    assert.equal(runs.length, 3);
    assert.deepEqual(runs[2]?.value, ['d']);
    assert.equal(runs[2]?.at, runs[1] ? runs[1].at + 100 : -1);
    await finish(2);
    assert.equal(d.busy(), false);
    assert.equal(maxActive(), 1);
  });

  it('counts a run delayed past the maximum by an active run as max reached', async () => {
    const { timers, advance } = manualTimers();
    const { runs, run, finish } = asyncRuns(timers);
    const d = new Debouncer<string[]>({ quietMs: 100, maxMs: 300, merge: concat, run, timers });
    d.trigger(['a']);
    advance(100);
    for (let i = 0; i < 5; i++) {
      d.trigger([`e${i}`]);
      advance(80);
    }
    await finish(0);
    advance(0);
    assert.equal(runs.length, 2);
    assert.deepEqual(runs[1]?.value, ['e0', 'e1', 'e2', 'e3', 'e4']);
    assert.deepEqual(d.stats, { quiesceReached: 1, maxReached: 1, resets: 4 });
  });

  it('logs a rejected or throwing run and carries on', async () => {
    const { timers, advance } = manualTimers();
    const errors: string[] = [];
    let rejected: Promise<void> | undefined;
    let calls = 0;
    const d = new Debouncer<void>({
      quietMs: 10,
      maxMs: 100,
      timers,
      onError: (err) => errors.push((err as Error).message),
      run: () => {
        calls++;
        if (calls === 1) {
          rejected = Promise.reject(new Error('rejected'));
          return rejected;
        }
        throw new Error('thrown');
      },
    });
    d.trigger();
    advance(10);
    assert.equal(calls, 1);
    // The debouncer's handler was attached first, so it has run once this settles.
    await rejected?.catch(() => {});
    assert.deepEqual(errors, ['rejected']);
    assert.equal(d.busy(), false);
    d.trigger();
    advance(10);
    d.trigger();
    advance(10);
    assert.equal(calls, 3);
    assert.deepEqual(errors, ['rejected', 'thrown', 'thrown']);
    assert.equal(d.busy(), false);
    await d.stop();
  });

  it('triggerNow skips the quiet period, after the active run, and counts no stat', async () => {
    const { timers, advance } = manualTimers();
    const { runs, run, finish } = asyncRuns(timers);
    const d = new Debouncer<string[]>({ quietMs: 100, maxMs: 10_000, merge: concat, run, timers });
    d.trigger(['a']);
    d.triggerNow(['now']);
    d.trigger(['b']);
    advance(0);
    assert.deepEqual(runs[0]?.value, ['a', 'now', 'b']);
    d.triggerNow(['c']);
    advance(1000);
    assert.equal(runs.length, 1);
    await finish(0);
    advance(0);
    assert.deepEqual(runs[1]?.value, ['c']);
    assert.deepEqual(d.stats, { quiesceReached: 0, maxReached: 0, resets: 2 });
  });

  it('flush during a run fires right after it', async () => {
    const { timers, advance } = manualTimers();
    const { runs, run, finish } = asyncRuns(timers);
    const d = new Debouncer<string[]>({ quietMs: 100, maxMs: 1000, merge: concat, run, timers });
    d.trigger(['a']);
    d.flush();
    assert.equal(runs.length, 1);
    d.trigger(['b']);
    d.flush();
    assert.equal(runs.length, 1);
    await finish(0);
    advance(0);
    assert.deepEqual(runs[1]?.value, ['b']);
  });

  it('stop drops the pending event, waits for the active run, and ignores later events', async () => {
    const { timers, advance } = manualTimers();
    const { runs, run, finish } = asyncRuns(timers);
    const d = new Debouncer<string[]>({ quietMs: 100, maxMs: 1000, merge: concat, run, timers });
    d.trigger(['a']);
    advance(100);
    d.trigger(['b']);
    let stopped = false;
    const stopping = d.stop().then(() => {
      stopped = true;
    });
    await Promise.resolve();
    assert.equal(stopped, false, 'stop waits for the active run');
    await finish(0);
    await stopping;
    assert.equal(stopped, true);
    d.trigger(['c']);
    d.triggerNow(['d']);
    d.flush();
    advance(5000);
    assert.equal(runs.length, 1);
    assert.equal(d.busy(), false);
  });

  it('feeds each stat to onStat as it is counted', () => {
    const { timers, advance } = manualTimers();
    const seen: string[] = [];
    const d = new Debouncer<void>({
      quietMs: 500,
      maxMs: 1000,
      run: () => {},
      onStat: (s) => seen.push(s),
      timers,
    });
    d.trigger();
    advance(400);
    d.trigger();
    advance(500);
    for (let t = 0; t < 5; t++) {
      d.trigger();
      advance(300);
    }
    assert.deepEqual(seen, ['resets', 'quiesceReached', 'resets', 'resets', 'resets', 'maxReached']);
    assert.deepEqual(d.stats, { quiesceReached: 1, maxReached: 1, resets: 4 });
  });

  it('runs on real timers by default', async () => {
    const ran = deferred();
    const got: string[][] = [];
    const d = new Debouncer<string[]>({
      quietMs: 5,
      maxMs: 50,
      merge: concat,
      run: (v) => {
        got.push(v);
        ran.resolve();
      },
    });
    d.trigger(['x']);
    d.trigger(['y']);
    await ran.promise;
    assert.deepEqual(got, [['x', 'y']]);
    await d.stop();
  });
});
