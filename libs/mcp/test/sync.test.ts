import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { unpackStruct } from '@keel/proto';
import type { McpAckEvent, McpNackEvent, McpUpdate } from '../src/index.js';
import {
  acked,
  metricValue,
  Recorder,
  type RunningSource,
  res,
  snap,
  startSink,
  startSource,
  within,
} from './helpers.js';

const A = 'istio/networking/v1alpha3/virtualservices';
const B = 'istio/networking/v1alpha3/destinationrules';
const C = 'k8s/core/v1/namespaces';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(options: { incremental?: (c: string) => boolean } = {}) {
  const acks = new Recorder<McpAckEvent>();
  const nacks = new Recorder<McpNackEvent>();
  const running: RunningSource = await startSource({
    collections: [A, B, C],
    onAck: acks.push,
    onNack: nacks.push,
    sourceVersion: '1.4.10-keel',
    ...options,
  });
  cleanups.push(running.stop);
  return { ...running, acks, nacks };
}

function sinkOn(address: string, options: Parameters<typeof startSink>[1] = {}) {
  const started = startSink(address, { collections: [A, B, C], sinkId: 'pilot-1', ...options });
  cleanups.push(() => started.sink.stop());
  return started;
}

const byCollection = (c: string, version: string) => (u: McpUpdate) =>
  u.collection === c && u.version === version;

test('full-set delivery of several collections', async () => {
  const { source, address, acks } = await setup();
  const created = new Date('2020-05-01T10:20:30.123Z');
  const vs = {
    metadata: {
      name: 'default/reviews',
      version: '11',
      labels: { app: 'reviews' },
      annotations: { a: 'b' },
      createTime: created,
    },
    body: res('reviews', '11', { hosts: ['reviews'] }).body,
  };
  source.setSnapshot(
    snap('v1', { [A]: [vs, res('default/ratings', '12')], [B]: [res('default/reviews', '3')], [C]: [] }),
  );
  const { sink, updates } = sinkOn(address);
  await within(sink.whenSynced(), 'sync');
  assert.equal(sink.synced(), true);
  assert.equal(sink.connected(), true);
  assert.equal(sink.sourceVersion(), '1.4.10-keel');
  assert.deepEqual(
    updates.items.map((u) => [u.collection, u.version, u.incremental, u.resources.length]).sort(),
    [
      [B, 'v1', false, 1],
      [C, 'v1', false, 0],
      [A, 'v1', false, 2],
    ].sort(),
  );
  const got = sink.state(A).get('default/reviews');
  assert.ok(got);
  assert.deepEqual(got.metadata, vs.metadata);
  assert.deepEqual(unpackStruct(got.body), { name: 'reviews', hosts: ['reviews'] });
  assert.equal(got.body.type_url, 'type.googleapis.com/google.protobuf.Struct');
  assert.deepEqual([...sink.state(C).keys()], []);
  await acked(acks, C, 'v1');
  await acked(acks, A, 'v1');
  await acked(acks, B, 'v1');
  const [info] = source.streams();
  assert.equal(info?.sinkId, 'pilot-1');
  assert.equal(info?.collections[A]?.ackedVersion, 'v1');
  assert.equal(info?.collections[A]?.pending, false);
  assert.equal(info?.collections[A]?.ackedResources, 2);
});

test('a sink that connects before any snapshot waits for the first one', async () => {
  const { source, address } = await setup();
  const { sink, updates } = sinkOn(address);
  await within(new Promise<void>((resolve) => sink.on('connected', resolve)), 'connected');
  assert.equal(sink.synced(), false);
  source.setSnapshot(snap('first', { [A]: [res('ns/a', '1')] }));
  await within(sink.whenSynced(), 'sync');
  assert.deepEqual(
    updates.items.map((u) => u.version),
    ['first', 'first', 'first'],
  );
  assert.equal(sink.state(B).size, 0);
});

test('a snapshot change reaches the sink; unchanged collections get no response', async () => {
  const { source, address, acks } = await setup();
  source.setSnapshot(snap('v1', { [A]: [res('ns/a', '1')], [B]: [res('ns/b', '1')], [C]: [res('ns', '1')] }));
  const { sink, updates } = sinkOn(address);
  await within(sink.whenSynced(), 'sync');
  await Promise.all([acked(acks, A, 'v1'), acked(acks, B, 'v1'), acked(acks, C, 'v1')]);
  const bNonce = source.streams()[0]?.collections[B]?.nonceSent;

  source.setSnapshot(
    snap('v2', {
      [A]: [res('ns/a', '2'), res('ns/a2', '1')],
      [B]: [res('ns/b', '1')],
      [C]: [res('ns', '1')],
    }),
  );
  const a2 = await updates.next(byCollection(A, 'v2'), 'A@v2');
  assert.deepEqual(a2.resources.map((r) => r.metadata.name).sort(), ['ns/a', 'ns/a2']);
  assert.deepEqual(a2.changed.map((r) => r.metadata.name).sort(), ['ns/a', 'ns/a2']);
  assert.equal(sink.state(A).get('ns/a')?.metadata.version, '2');

  // v3 changes only C: any response to B or C for v2 would have been written before C@v3.
  source.setSnapshot(
    snap('v3', { [A]: [res('ns/a', '2'), res('ns/a2', '1')], [B]: [res('ns/b', '1')], [C]: [] }),
  );
  const c3 = await updates.next(byCollection(C, 'v3'), 'C@v3');
  assert.deepEqual(c3.removed, ['ns']);
  const count = (c: string) => updates.items.filter((u) => u.collection === c).length;
  assert.deepEqual([count(A), count(B), count(C)], [2, 1, 2]);
  const info = source.streams()[0]?.collections;
  assert.equal(info?.[B]?.nonceSent, bNonce);
  assert.equal(info?.[B]?.versionSent, 'v1');
});

test('incremental add/change/remove sends only the delta and removed_resources', async () => {
  const { source, address, acks } = await setup({ incremental: (c) => c !== B });
  source.setSnapshot(
    snap('v1', { [A]: [res('ns/a1', '1'), res('ns/a2', '1')], [B]: [res('ns/b1', '1'), res('ns/b2', '1')] }),
  );
  const { sink, updates } = sinkOn(address, { incremental: true });
  await within(sink.whenSynced(), 'sync');
  await Promise.all([acked(acks, A, 'v1'), acked(acks, B, 'v1')]);

  source.setSnapshot(
    snap('v2', {
      [A]: [res('ns/a1', '2'), res('ns/a3', '1')],
      [B]: [res('ns/b1', '2')],
    }),
  );
  const a = await updates.next(byCollection(A, 'v2'), 'A@v2');
  assert.equal(a.incremental, true);
  assert.deepEqual(a.changed.map((r) => r.metadata.name).sort(), ['ns/a1', 'ns/a3']);
  assert.deepEqual(a.removed, ['ns/a2']);
  assert.deepEqual([...sink.state(A).keys()].sort(), ['ns/a1', 'ns/a3']);
  assert.equal(sink.state(A).get('ns/a1')?.metadata.version, '2');

  const b = await updates.next(byCollection(B, 'v2'), 'B@v2');
  assert.equal(b.incremental, false, 'B does not allow incremental');
  assert.deepEqual(b.removed, ['ns/b2']);
  assert.deepEqual([...sink.state(B).keys()], ['ns/b1']);
  assert.equal(source.streams()[0]?.collections[A]?.incremental, true);
});

test('a NACK is recorded by the source, not retried, and the sink keeps its old state', async () => {
  const { source, address, acks, nacks, registry } = await setup();
  source.setSnapshot(snap('v1', { [A]: [res('ns/a', '1')] }));
  const { sink, updates } = sinkOn(address, {
    apply: (u) => {
      if (u.resources.some((r) => r.metadata.version === 'bad')) throw new Error('invalid virtual service');
    },
  });
  await within(sink.whenSynced(), 'sync');
  await acked(acks, A, 'v1');

  source.setSnapshot(snap('v2', { [A]: [res('ns/a', 'bad')] }));
  const nack = await nacks.next((n) => n.collection === A, 'NACK');
  assert.deepEqual(nack.error, { code: 3, message: 'invalid virtual service' });
  assert.equal(nack.sinkId, 'pilot-1');
  assert.equal(nack.version, 'v2');
  assert.equal(sink.state(A).get('ns/a')?.metadata.version, '1');
  assert.equal(
    await metricValue(registry, 'istio_mcp_request_nacks_total', { collection: A, code: 'InvalidArgument' }),
    1,
  );
  const info = source.streams()[0]?.collections[A];
  assert.equal(info?.lastNack?.code, 3);
  assert.equal(info?.ackedVersion, 'v1');

  // v3 arrives after any (wrong) resend of v2 would have.
  source.setSnapshot(snap('v3', { [A]: [res('ns/a', '3')] }));
  await updates.next(byCollection(A, 'v3'), 'A@v3');
  assert.deepEqual(
    updates.items.filter((u) => u.collection === A).map((u) => u.version),
    ['v1', 'v2', 'v3'],
  );
  await acked(acks, A, 'v3');
  assert.equal(sink.state(A).get('ns/a')?.metadata.version, '3');
  assert.equal(
    await metricValue(registry, 'istio_mcp_request_acks_total', { component: 'galley', collection: A }),
    2,
  );
});

test('two sinks on one source both receive every change', async () => {
  const { source, address } = await setup();
  source.setSnapshot(snap('v1', { [A]: [res('ns/a', '1')] }));
  const one = sinkOn(address, { sinkId: 'pilot-1' });
  const two = sinkOn(address, { sinkId: 'mixer-1', collections: [A] });
  await within(Promise.all([one.sink.whenSynced(), two.sink.whenSynced()]), 'both synced');
  source.setSnapshot(snap('v2', { [A]: [res('ns/a', '2')] }));
  await one.updates.next(byCollection(A, 'v2'), 'sink one A@v2');
  await two.updates.next(byCollection(A, 'v2'), 'sink two A@v2');
  assert.equal(one.sink.state(A).get('ns/a')?.metadata.version, '2');
  assert.equal(two.sink.state(A).get('ns/a')?.metadata.version, '2');
  assert.deepEqual(
    source
      .streams()
      .map((s) => s.sinkId)
      .sort(),
    ['mixer-1', 'pilot-1'],
  );
});
