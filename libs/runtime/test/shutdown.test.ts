import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withTimeout } from '@keel/testing';
import { createShutdown } from '../src/index.js';

function exitPromise(): { exit: (code: number) => void; code: Promise<number> } {
  let exit!: (code: number) => void;
  const code = new Promise<number>((resolve) => {
    exit = resolve;
  });
  // Signal listeners do not keep the event loop alive; the timeout timer does.
  return { exit, code: withTimeout(code, 5000, 'exit') };
}

describe('createShutdown', () => {
  it('runs hooks once, in reverse order, on the first signal, then exits 0', async () => {
    const { exit, code } = exitPromise();
    const calls: string[] = [];
    const exits: number[] = [];
    const s = createShutdown({
      signals: ['SIGUSR2'],
      exit: (c) => {
        exits.push(c);
        exit(c);
      },
    });
    s.onShutdown(() => {
      calls.push('first');
    });
    s.onShutdown(async () => {
      await Promise.resolve();
      calls.push('second');
    });
    const removed = s.onShutdown(() => {
      calls.push('removed');
    });
    removed();
    process.kill(process.pid, 'SIGUSR2');
    assert.equal(await code, 0);
    await s.run('again');
    s.dispose();
    assert.deepEqual(calls, ['second', 'first']);
    assert.deepEqual(exits, [0]);
  });

  it('keeps running later hooks after one fails, and exits 1', async () => {
    const { exit, code } = exitPromise();
    const calls: string[] = [];
    const s = createShutdown({ signals: [], exit });
    s.onShutdown(() => {
      calls.push('a');
    });
    s.onShutdown(() => {
      throw new Error('boom');
    });
    void s.run();
    assert.equal(await code, 1);
    assert.deepEqual(calls, ['a']);
  });

  it('gives up on hooks at the deadline and exits 1', async () => {
    const { exit, code } = exitPromise();
    const s = createShutdown({ signals: [], exit, deadlineMs: 30 });
    s.onShutdown(() => new Promise(() => {}));
    const started = Date.now();
    void s.run();
    assert.equal(await code, 1);
    assert.ok(Date.now() - started < 2000);
  });
});
