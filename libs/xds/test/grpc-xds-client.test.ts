import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { TypeUrl } from '@keel/proto';
import { Snapshot } from '../src/index.js';
import {
  apiListener,
  bind,
  edsCluster,
  endpoints,
  type Harness,
  routeConfig,
  startXds,
  streamOf,
  waitEvent,
} from './helpers.js';

const TARGET = 'echo.test:50051';
const NODE = 'grpc-client-1';

/** A unary Echo service with JSON bodies: the reply names the backend that served it. */
const ECHO: grpc.ServiceDefinition = {
  Echo: {
    path: '/keel.test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (o: object) => Buffer.from(JSON.stringify(o)),
    requestDeserialize: (b: Buffer) => JSON.parse(b.toString()),
    responseSerialize: (o: object) => Buffer.from(JSON.stringify(o)),
    responseDeserialize: (b: Buffer) => JSON.parse(b.toString()),
  },
};
const EchoClient = grpc.makeGenericClientConstructor(ECHO, 'Echo');

async function startBackend(label: string): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(ECHO, {
    Echo: (call: grpc.ServerUnaryCall<{ message: string }, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, { message: call.request.message, backend: label }),
  });
  return { port: await bind(server), server };
}

function echo(client: grpc.Client): Promise<{ backend: string }> {
  return new Promise((resolve, reject) =>
    (client as any).Echo({ message: 'hi' }, { deadline: Date.now() + 5000 }, (err: Error | null, r: any) =>
      err ? reject(err) : resolve(r),
    ),
  );
}

function snapshotFor(port: number, lbPolicy = 'ROUND_ROBIN'): Snapshot {
  return new Snapshot([
    apiListener(TARGET, 'echo-route'),
    routeConfig('echo-route', 'echo-cluster'),
    edsCluster('echo-cluster', lbPolicy),
    endpoints('echo-cluster', port),
  ]);
}

let h: Harness;
let a: { port: number; server: grpc.Server };
let b: { port: number; server: grpc.Server };
let client: grpc.Client;

before(async () => {
  (await import('@grpc/grpc-js-xds')).register();
  h = await startXds();
  a = await startBackend('a');
  b = await startBackend('b');
  const bootstrap = {
    xds_servers: [
      { server_uri: h.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
    ],
    node: {
      id: NODE,
      cluster: 'test',
      metadata: { ISTIO_VERSION: '1.4.10', LABELS: { app: 'echo' } },
      locality: {},
    },
  };
  client = new EchoClient(`xds:///${TARGET}`, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
  });
});

after(async () => {
  client.close();
  await h.stop();
  a.server.forceShutdown();
  b.server.forceShutdown();
});

test('grpc-js-xds reaches the backend from our snapshot, then follows an EDS change', async () => {
  h.cache.setSnapshot(NODE, snapshotFor(a.port));
  assert.equal((await echo(client)).backend, 'a');

  const info = streamOf(h.xds, NODE);
  assert.deepEqual(info.node.metadata, { ISTIO_VERSION: '1.4.10', LABELS: { app: 'echo' } });
  for (const t of [
    TypeUrl.Listener,
    TypeUrl.RouteConfiguration,
    TypeUrl.Cluster,
    TypeUrl.ClusterLoadAssignment,
  ]) {
    assert.equal(info.types[t]?.versionAcked, info.types[t]?.versionSent, `${t} acked`);
  }

  const next = snapshotFor(b.port);
  const acked = waitEvent(
    h.events,
    'ack',
    (_s, t, v) => t === TypeUrl.ClusterLoadAssignment && v !== info.types[t]?.versionSent,
  );
  const responses: string[] = [];
  const record = (_s: unknown, t: string) => responses.push(t);
  h.events.on('response', record);
  h.cache.setSnapshot(NODE, next);
  await acked;
  h.events.off('response', record);
  assert.deepEqual(responses, [TypeUrl.ClusterLoadAssignment], 'only EDS changed, only EDS pushed');
  assert.equal((await echo(client)).backend, 'b');
});

test('a cluster grpc-js-xds rejects is NACKed, recorded, and the last good config keeps serving', async () => {
  const good = streamOf(h.xds, NODE).types[TypeUrl.Cluster]!;
  const nacked = waitEvent(h.events, 'nack', (_s, t) => t === TypeUrl.Cluster);
  h.cache.setSnapshot(NODE, snapshotFor(b.port, 'MAGLEV'));
  const [, , nack] = (await nacked) as unknown as [
    unknown,
    string,
    { version: string; nonce: string; error: string },
  ];
  assert.match(nack.error, /unsupported lb_policy: MAGLEV/);

  const state = streamOf(h.xds, NODE).types[TypeUrl.Cluster]!;
  assert.equal(state.lastNack?.nonce, nack.nonce);
  assert.equal(state.lastNack?.version, state.versionSent);
  assert.notEqual(state.versionSent, good.versionSent);
  assert.equal(state.versionAcked, good.versionAcked, 'the ACKed version stays the last good one');
  assert.equal((await echo(client)).backend, 'b');

  // Going back to the good cluster is a new answer for this client (it holds the rejected one): sent and ACKed.
  const acked = waitEvent(h.events, 'ack', (_s, t, v) => t === TypeUrl.Cluster && v === good.versionAcked);
  h.cache.setSnapshot(NODE, snapshotFor(b.port, 'ROUND_ROBIN'));
  await acked;
  assert.equal(streamOf(h.xds, NODE).types[TypeUrl.Cluster]!.lastNack?.nonce, nack.nonce);
  assert.equal((await echo(client)).backend, 'b');
});
