import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '@keel/proto';
import type { McpAckEvent, McpNackEvent } from '../src/index.js';
import { Recorder, rawStream, res, snap, startSink, startSource, within } from './helpers.js';

const A = 'istio/networking/v1alpha3/gateways';
const B = 'istio/networking/v1alpha3/serviceentries';
const node = { id: 'raw-sink' };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup() {
  const acks = new Recorder<McpAckEvent>();
  const nacks = new Recorder<McpNackEvent>();
  const running = await startSource({ collections: [A, B], onAck: acks.push, onNack: nacks.push });
  cleanups.push(running.stop);
  return { ...running, acks, nacks };
}

function raw(address: string) {
  const stream = rawStream(address);
  cleanups.push(() => stream.close());
  return stream;
}

test('nonces count per stream; a stale nonce is ignored; the version header is sent', async () => {
  const { source, address, acks, nacks } = await setup();
  source.setSnapshot(snap('v1', { [A]: [res('ns/gw', '1')] }));
  const s = raw(address);
  s.call.write({ sink_node: node, collection: A });
  const first = await s.responses.next(() => true, 'first response');
  assert.equal(first.nonce, '1');
  assert.equal(first.system_version_info, 'v1');
  assert.equal(first.incremental, false);
  assert.deepEqual(
    first.resources.map((r: any) => r.metadata.name),
    ['ns/gw'],
  );
  assert.deepEqual((await s.headers).get('config.source.version'), ['keel']);

  // A NACK with a stale nonce is ignored; the real ACK that follows is processed after it.
  s.call.write({ collection: A, response_nonce: '7', error_detail: { code: 3, message: 'stale' } });
  s.call.write({ collection: A, response_nonce: '1' });
  await acks.next((a) => a.nonce === '1', 'ACK 1');
  assert.equal(nacks.items.length, 0);
  assert.equal(source.streams()[0]?.collections[A]?.ackedVersion, 'v1');

  source.setSnapshot(snap('v2', { [A]: [res('ns/gw', '2')] }));
  const second = await s.responses.next((r) => r.nonce === '2', 'response 2');
  assert.equal(second.system_version_info, 'v2');
  // Re-sending the old nonce is stale too; the NACK for "2" counts.
  s.call.write({ collection: A, response_nonce: '1' });
  s.call.write({ collection: A, response_nonce: '2', error_detail: { code: 3, message: 'bad gateway' } });
  const nack = await nacks.next(() => true, 'NACK 2');
  assert.equal(nack.nonce, '2');
  assert.equal(nack.sinkId, 'raw-sink');
  assert.equal(acks.items.length, 1);
  const info = source.streams()[0]?.collections[A];
  assert.deepEqual(
    { nonceSent: info?.nonceSent, pending: info?.pending, acked: info?.ackedVersion },
    { nonceSent: '2', pending: false, acked: 'v1' },
  );
});

test('a second collection on the same stream shares the nonce counter', async () => {
  const { source, address } = await setup();
  source.setSnapshot(snap('v1', { [A]: [], [B]: [res('ns/se', '1')] }));
  const s = raw(address);
  s.call.write({ sink_node: node, collection: A });
  s.call.write({ sink_node: node, collection: B });
  const a = await s.responses.next((r) => r.collection === A, 'A');
  const b = await s.responses.next((r) => r.collection === B, 'B');
  assert.deepEqual([a.nonce, b.nonce], ['1', '2']);
  assert.equal(a.resources?.length ?? 0, 0);
});

test('an unknown collection ends the stream with INVALID_ARGUMENT naming it', async () => {
  const { source, address } = await setup();
  const s = raw(address);
  s.call.write({ sink_node: node, collection: 'istio/nope/v1/things' });
  const status = await within(s.status, 'status');
  assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  assert.match(status.details, /istio\/nope\/v1\/things/);
  assert.equal(source.streams().length, 0);
});

test('a request without a collection ends the stream with INVALID_ARGUMENT; the server keeps serving', async () => {
  const { source, address } = await setup();
  source.setSnapshot(snap('v1', { [A]: [res('ns/gw', '1')] }));
  const bad = raw(address);
  bad.call.write({ sink_node: node });
  const status = await within(bad.status, 'status');
  assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  const good = raw(address);
  good.call.write({ sink_node: node, collection: A });
  const r = await good.responses.next(() => true, 'response after a bad stream');
  assert.equal(r.nonce, '1');
});

test('close() ends every stream with OK and refuses new ones', async () => {
  const { source, address } = await setup();
  source.setSnapshot(snap('v1', { [A]: [res('ns/gw', '1')], [B]: [] }));
  const s = raw(address);
  s.call.write({ sink_node: node, collection: A });
  await s.responses.next(() => true, 'response');
  const { sink } = startSink(address, { collections: [A, B] });
  cleanups.push(() => sink.stop());
  await within(sink.whenSynced(), 'sink synced');
  const disconnected = new Promise<void>((resolve) => sink.on('disconnected', resolve));
  assert.equal(source.streams().length, 2);

  source.close();
  const status = await within(s.status, 'status after close');
  assert.equal(status.code, grpc.status.OK);
  await within(disconnected, 'sink disconnected');
  assert.equal(source.streams().length, 0);
  assert.equal(sink.state(A).size, 1, 'the sink keeps serving its last state');

  const late = raw(address);
  late.call.write({ sink_node: node, collection: A });
  assert.equal((await within(late.status, 'late status')).code, grpc.status.UNAVAILABLE);
});

test('the sink NACKs an unknown collection with UNIMPLEMENTED and a rejected apply with INVALID_ARGUMENT', async () => {
  const requests = new Recorder<any>();
  const server = new grpc.Server();
  let stream: grpc.ServerDuplexStream<any, any> | undefined;
  const opened = new Promise<void>((resolve) => {
    server.addService(serviceDefinition('istio.mcp.v1alpha1.ResourceSource'), {
      EstablishResourceStream: (call: grpc.ServerDuplexStream<any, any>) => {
        stream = call;
        call.on('data', requests.push);
        resolve();
      },
    });
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  cleanups.push(() => server.forceShutdown());
  const { sink } = startSink(`127.0.0.1:${port}`, {
    collections: [A],
    apply: () => Promise.reject(new Error('cannot apply')),
  });
  cleanups.push(() => sink.stop());
  await within(opened, 'stream');
  stream?.write({ collection: 'other/collection', nonce: '1', system_version_info: 'v1' });
  stream?.write({ collection: A, nonce: '2', system_version_info: 'v1', resources: [] });
  const unknown = await requests.next((r) => r.response_nonce === '1', 'NACK 1');
  assert.equal(unknown.error_detail?.code, grpc.status.UNIMPLEMENTED);
  const rejected = await requests.next((r) => r.response_nonce === '2', 'NACK 2');
  assert.deepEqual(
    { code: rejected.error_detail?.code, message: rejected.error_detail?.message },
    { code: grpc.status.INVALID_ARGUMENT, message: 'cannot apply' },
  );
  assert.equal(sink.synced(), false);
});

test('a throwing callback does not break the source', async () => {
  const running = await startSource({
    collections: [A],
    onAck: () => {
      throw new Error('callback bug');
    },
  });
  cleanups.push(running.stop);
  running.source.setSnapshot(snap('v1', { [A]: [res('ns/gw', '1')] }));
  const { sink, updates } = startSink(running.address, { collections: [A] });
  cleanups.push(() => sink.stop());
  await within(sink.whenSynced(), 'sync');
  running.source.setSnapshot(snap('v2', { [A]: [res('ns/gw', '2')] }));
  await updates.next((u) => u.version === 'v2', 'v2 after a throwing onAck');
});
