// Pilot's push debouncer: PushRequests merge into one push, and a failed push is logged, not thrown.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { it } from 'node:test';
import { createLogger } from '@keel/runtime';
import { withTimeout } from '@keel/testing';
import { createPushDebouncer } from '../src/push/debounce.js';
import type { PushRequest } from '../src/server/config-store.js';

const request = (full: boolean, kinds: string[], edsHosts: string[], start: number): PushRequest => ({
  full,
  kinds: new Set(kinds),
  edsHosts: new Set(edsHosts),
  start,
});

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('pilot', {
    level: 'info',
    destination: { write: (chunk: string) => void lines.push(JSON.parse(chunk)) },
  });
  return { lines, logger };
}

it('merges the requests of a quiet period into one push', async () => {
  const pushes = new EventEmitter();
  const { logger } = capture();
  const d = createPushDebouncer({
    afterMs: 5,
    maxMs: 10_000,
    logger,
    run: async (req) => void pushes.emit('push', req),
  });
  const pushed = new Promise<PushRequest>((resolve) => pushes.once('push', resolve));
  d.trigger(request(false, [], ['reviews.default.svc.cluster.local'], 300));
  d.trigger(request(true, ['VirtualService'], [], 100));
  d.trigger(request(false, ['DestinationRule'], ['ratings.default.svc.cluster.local'], 200));
  const req = await withTimeout(pushed, 5000, 'merged push');
  assert.equal(req.full, true);
  assert.deepEqual([...req.kinds].sort(), ['DestinationRule', 'VirtualService']);
  assert.deepEqual([...req.edsHosts].sort(), [
    'ratings.default.svc.cluster.local',
    'reviews.default.svc.cluster.local',
  ]);
  assert.equal(req.start, 100, 'the earliest request dates the push');
  await d.stop();
});

it("logs a failed push as 'push failed' and runs the next one", async () => {
  const pushes = new EventEmitter();
  const { lines, logger } = capture();
  let n = 0;
  const d = createPushDebouncer({
    afterMs: 1,
    maxMs: 10_000,
    logger,
    run: async (req) => {
      n++;
      pushes.emit('push', req);
      if (n === 1) throw new Error('context exploded');
    },
  });
  const second = new Promise<PushRequest>((resolve) => {
    pushes.on('push', (req: PushRequest) => {
      if (n === 2) resolve(req);
    });
  });
  const first = new Promise<void>((resolve) => pushes.once('push', () => resolve()));
  d.triggerNow(request(true, [], [], 1));
  await withTimeout(first, 5000, 'first push');
  d.trigger(request(false, [], ['a.default.svc.cluster.local'], 2));
  const req = await withTimeout(second, 5000, 'second push');
  assert.deepEqual([...req.edsHosts], ['a.default.svc.cluster.local']);
  const failed = lines.filter((l) => l.msg === 'push failed');
  assert.equal(failed.length, 1);
  assert.match(JSON.stringify(failed[0]?.err), /context exploded/);
  await d.stop();
});
