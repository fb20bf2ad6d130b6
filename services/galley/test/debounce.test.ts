import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Debouncer, type Timers } from '../src/debounce.js';

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

describe('Debouncer (500 ms quiet, 1 s max)', () => {
  it('fires once after the quiet period', () => {
    const { timers, advance } = manualTimers();
    let fired = 0;
    const d = new Debouncer(500, 1000, () => fired++, timers);
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
    const d = new Debouncer(500, 1000, () => fired++, timers);
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
    const d = new Debouncer(500, 1000, () => fired++, timers);
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
