import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNats, withTimeout } from '@keel/testing';
import { type Bus, type BusStatus, type ConfigRejectedEvent, connectBus, Subjects } from '../src/index.js';

/** Resolves with the first value `register`'s callback receives. */
function next<T>(register: (cb: (value: T) => void) => unknown, ms = 5000, what = 'message'): Promise<T> {
  return withTimeout(new Promise<T>((resolve) => register(resolve)), ms, what);
}

describe('bus against a real nats-server', () => {
  let nats: NatsServer;
  let a: Bus;
  let b: Bus;

  before(async () => {
    nats = await startNats();
    a = await connectBus({ url: nats.url, name: 'test-a', reconnectWaitMs: 100 });
    b = await connectBus({ url: nats.url, name: 'test-b', reconnectWaitMs: 100 });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await nats?.stop();
  });

  it('round-trips a typed event between two connections', async () => {
    const event: ConfigRejectedEvent = {
      source: 'galley',
      kind: 'VirtualService',
      namespace: 'default',
      name: 'reviews',
      reason: 'http route must have a destination',
      file: 'vs.yaml',
      line: 12,
      time: new Date().toISOString(),
    };
    const received = next<[ConfigRejectedEvent, string]>((cb) =>
      b.subscribe(Subjects.allEvents, (e, subject) => cb([e as ConfigRejectedEvent, subject])),
    );
    await b.connection.flush();
    a.publish(Subjects.configRejected, event);
    assert.deepEqual(await received, [event, 'keel.events.config.rejected']);
    assert.equal(a.stats().published, 1);
  });

  it('counts non-JSON messages instead of throwing', async () => {
    const got: unknown[] = [];
    const second = next<void>((cb) =>
      b.subscribe('test.json', (e) => {
        got.push(e);
        cb();
      }),
    );
    await b.connection.flush();
    a.connection.publish('test.json', 'not json {');
    a.publish('test.json', { fine: true });
    await second;
    assert.deepEqual(got, [{ fine: true }]);
    assert.equal(b.stats().badMessages, 1);
  });

  it('request gets one reply; requestMany collects every responder', async () => {
    const stopA = a.reply<{ q: string }, { pilot: string; q: string }>(Subjects.pilotStatus, (req) => ({
      pilot: 'a',
      q: req.q,
    }));
    const stopB = b.reply<{ q: string }, { pilot: string; q: string }>(Subjects.pilotStatus, async (req) => ({
      pilot: 'b',
      q: req.q,
    }));
    await Promise.all([a.connection.flush(), b.connection.flush()]);
    const one = await a.request<{ pilot: string; q: string }>(Subjects.pilotStatus, { q: 'x' }, 2000);
    assert.ok(one.ok);
    assert.equal(one.value.q, 'x');
    assert.ok(['a', 'b'].includes(one.value.pilot));
    const all = await a.requestMany<{ pilot: string }>(Subjects.pilotStatus, { q: 'y' }, 300);
    assert.deepEqual(all.map((r) => r.pilot).sort(), ['a', 'b']);
    stopA();
    stopB();
  });

  it('request without responders is an error value; requestMany returns nothing', async () => {
    const r = await a.request('nobody.home', {}, 500);
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.match(r.errors, /^request nobody\.home: /);
    assert.deepEqual(await a.requestMany('nobody.home', {}, 200), []);
  });

  it('KV: create once, compare-and-set conflicts on a stale revision, watch sees changes', async () => {
    const kvA = await a.kv('quota-test');
    const kvB = await b.kv('quota-test');
    const created = await kvA.create('requests', { used: 1 });
    assert.ok(created.ok);
    assert.deepEqual(await kvB.create('requests', { used: 99 }), { ok: false, errors: 'conflict' });

    const changes: unknown[] = [];
    let sawThree!: () => void;
    const three = new Promise<void>((resolve) => {
      sawThree = resolve;
    });
    const stopWatch = await kvB.watch<{ used: number }>('requests', (c) => {
      changes.push(c.value);
      if (c.value?.used === 3) sawThree();
    });

    const current = await kvB.get<{ used: number }>('requests');
    assert.deepEqual(current, { value: { used: 1 }, revision: created.value });
    const winner = await kvA.update('requests', { used: 2 }, created.value);
    assert.ok(winner.ok);
    const loser = await kvB.update('requests', { used: 2 }, created.value);
    assert.deepEqual(loser, { ok: false, errors: 'conflict' });
    const retry = await kvB.update('requests', { used: 3 }, winner.value);
    assert.ok(retry.ok);
    await withTimeout(three, 5000, 'watch update');
    stopWatch();
    assert.deepEqual(changes, [{ used: 1 }, { used: 2 }, { used: 3 }]);

    await kvA.delete('requests');
    assert.equal(await kvA.get('requests'), undefined);
    assert.ok((await kvA.create('requests', { used: 0 })).ok);
  });

  it('reconnects after the server restarts: status goes reconnecting -> connected', async () => {
    const seen: BusStatus[] = [];
    const backUp = withTimeout(
      new Promise<void>((resolve) => {
        a.onStatus((s) => {
          seen.push(s);
          if (s === 'connected' && seen.includes('reconnecting')) resolve();
        });
      }),
      15000,
      'reconnect',
    );
    const bBackUp = withTimeout(
      new Promise<void>((resolve) => b.onStatus((s) => s === 'connected' && resolve())),
      15000,
      'reconnect b',
    );
    await nats.restart();
    await Promise.all([backUp, bBackUp]);
    assert.deepEqual(seen, ['reconnecting', 'connected']);
    assert.equal(a.status(), 'connected');

    const received = next<unknown>((cb) => b.subscribe('after.restart', cb));
    await b.connection.flush();
    a.publish('after.restart', { n: 1 });
    assert.deepEqual(await received, { n: 1 });
  });

  it('never throws on publish while the server is down, and delivers the buffer after reconnect', async () => {
    const down = next<BusStatus>((cb) => a.onStatus((s) => s === 'reconnecting' && cb(s)), 5000, 'down');
    const received: unknown[] = [];
    let gotAll!: () => void;
    const all = new Promise<void>((resolve) => {
      gotAll = resolve;
    });
    // Same connection: its subscriptions are restored before the buffered publishes go out.
    a.subscribe('while.down', (e) => {
      received.push(e);
      if (received.length === 2) gotAll();
    });
    await a.connection.flush();
    const restarted = nats.restart();
    await down;
    a.publish('while.down', { n: 1 });
    a.publish('while.down', { n: 2 });
    assert.equal(a.stats().held, 2);
    await restarted;
    await withTimeout(all, 15000, 'buffered publishes');
    assert.deepEqual(received, [{ n: 1 }, { n: 2 }]);
    assert.equal(a.stats().held, 0);
  });

  it('drops (counted) instead of buffering without bound, and after close', async () => {
    const c = await connectBus({ url: nats.url, name: 'test-c', maxBuffered: 1, reconnectWaitMs: 100 });
    const down = next<BusStatus>((cb) => c.onStatus((s) => s === 'reconnecting' && cb(s)), 5000, 'down');
    const up = next<BusStatus>((cb) => c.onStatus((s) => s === 'connected' && cb(s)), 15000, 'up');
    const restarted = nats.restart();
    await down;
    const publishedBefore = c.stats().published;
    c.publish('x', 1);
    c.publish('x', 2);
    c.publish('x', 3);
    assert.deepEqual({ ...c.stats(), published: 0 }, { published: 0, dropped: 2, held: 1, badMessages: 0 });
    await restarted;
    await up;
    assert.equal(c.stats().published, publishedBefore + 1);
    assert.equal(c.stats().held, 0);
    await c.close();
    assert.equal(c.status(), 'closed');
    c.publish('x', 4);
    assert.equal(c.stats().dropped, 3);
  });
});
