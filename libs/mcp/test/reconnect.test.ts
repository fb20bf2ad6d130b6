import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '@keel/proto';
import { Registry } from 'prom-client';
import { createMcpSource, type McpUpdate } from '../src/index.js';
import {
  metricValue,
  Recorder,
  res,
  serve,
  snap,
  startSink,
  startSource,
  stopServer,
  within,
} from './helpers.js';

const A = 'istio/networking/v1alpha3/sidecars';
const B = 'istio/mesh/v1alpha1/MeshConfig';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const event = (
  sink: { on(e: 'connected' | 'disconnected', fn: () => void): () => void },
  e: 'connected' | 'disconnected',
) => within(new Promise<void>((resolve) => sink.on(e, resolve)), e);

for (const incremental of [true, false]) {
  test(`a sink reconnects after the source restarts on the same port and resyncs (incremental ${incremental})`, async () => {
    const first = await startSource({ collections: [A, B] });
    cleanups.push(first.stop);
    first.source.setSnapshot(
      snap('v1', { [A]: [res('ns/a1', '1'), res('ns/a2', '1')], [B]: [res('mesh', '1')] }),
    );
    const registry = new Registry();
    const { sink, updates } = startSink(first.address, { collections: [A, B], incremental, registry });
    cleanups.push(() => sink.stop());
    await within(sink.whenSynced(), 'sync');

    const down = event(sink, 'disconnected');
    await stopServer(first.server);
    await down;
    assert.equal(sink.connected(), false);
    assert.equal(sink.state(A).size, 2, 'the last state is kept while disconnected');

    const source = createMcpSource({ collections: [A, B], registry: new Registry() });
    source.setSnapshot(snap('v2', { [A]: [res('ns/a1', '1'), res('ns/a2', '2')], [B]: [res('mesh', '1')] }));
    const up = event(sink, 'connected');
    const restarted = await serve(source, first.port);
    cleanups.push(() => stopServer(restarted.server));
    await up;

    const isA2 = (u: McpUpdate) => u.collection === A && u.version === 'v2';
    const a = await updates.next(isA2, 'A@v2 after reconnect');
    assert.deepEqual([...sink.state(A).values()].map((r) => [r.metadata.name, r.metadata.version]).sort(), [
      ['ns/a1', '1'],
      ['ns/a2', '2'],
    ]);
    await updates.next((u) => u.collection === B && u.version === 'v2', 'B@v2 after reconnect');
    if (incremental) {
      // The sink resumed from initial_resource_versions: only the changed resource was sent.
      assert.equal(a.incremental, true);
      assert.deepEqual(
        a.changed.map((r) => r.metadata.name),
        ['ns/a2'],
      );
      const watch = source.streams()[0]?.collections[B];
      assert.equal(watch?.incremental, true);
    } else {
      assert.equal(a.incremental, false);
      assert.deepEqual(
        a.changed.map((r) => r.metadata.name),
        ['ns/a2'],
      );
    }
    assert.ok(((await metricValue(registry, 'istio_mcp_reconnections', {})) ?? 0) >= 1);
    assert.ok(((await metricValue(registry, 'istio_mcp_recv_failures_total', {})) ?? 0) >= 1);
    assert.equal(sink.connected(), true);
  });
}

test('an incremental resume sends initial_resource_versions on the new stream', async () => {
  const first = await startSource({ collections: [A] });
  cleanups.push(first.stop);
  first.source.setSnapshot(snap('v1', { [A]: [res('ns/a1', '7')] }));
  const { sink } = startSink(first.address, { collections: [A], incremental: true, sinkId: 'resumer' });
  cleanups.push(() => sink.stop());
  await within(sink.whenSynced(), 'sync');
  const down = event(sink, 'disconnected');
  await stopServer(first.server);
  await down;

  // A bare ResourceSource server records what the resumed sink asks for.
  const requests = new Recorder<any>();
  const server = new grpc.Server();
  server.addService(serviceDefinition('istio.mcp.v1alpha1.ResourceSource'), {
    EstablishResourceStream: (call: grpc.ServerDuplexStream<any, any>) => call.on('data', requests.push),
  });
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${first.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  cleanups.push(() => server.forceShutdown());
  const req = await requests.next((r) => r.collection === A, 'resumed request');
  assert.deepEqual(req.initial_resource_versions, { 'ns/a1': '7' });
  assert.equal(req.incremental, true);
  assert.equal(req.sink_node?.id, 'resumer');
});
