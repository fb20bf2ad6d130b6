// Proxyless grpc-js-xds clients routed by Pilot to real grpc-js backends on loopback IPs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { TypeUrl } from '@keel/proto';
import { freePort } from '@keel/testing';
import { type Harness, startHarness, waitEvent } from './server-harness.js';
import {
  ECHO_HOST,
  ECHO_PORT,
  type EchoPod,
  echoRoutes,
  echoService,
  echoSubsets,
  grpcClientNode,
  maglevFilter,
  toSubsets,
} from './server-mesh.js';

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

const PODS: EchoPod[] = [
  { name: 'echo-v1-0', ip: '127.0.1.1', version: 'v1' },
  { name: 'echo-v2-0', ip: '127.0.1.2', version: 'v2' },
  { name: 'echo-v2-1', ip: '127.0.1.3', version: 'v2' },
];
const CLIENT = grpcClientNode('client-0', '127.0.0.10');

let h: Harness;
let port: number;
let backends: grpc.Server[] = [];
let client: grpc.Client;

function startBackend(p: EchoPod): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(ECHO, {
    Echo: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { backend: `${p.version}@${p.ip}` }),
  });
  return new Promise((resolve, reject) =>
    server.bindAsync(`${p.ip}:${port}`, grpc.ServerCredentials.createInsecure(), (e) =>
      e ? reject(e) : resolve(server),
    ),
  );
}

function echo(headers: Record<string, string> = {}): Promise<string> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return new Promise((resolve, reject) =>
    (client as any).Echo({}, md, { deadline: Date.now() + 5000 }, (e: Error | null, r: any) =>
      e ? reject(e) : resolve(r.backend),
    ),
  );
}

async function tally(n: number, headers?: Record<string, string>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const b = await echo(headers);
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  return counts;
}

/**
 * grpc-js-xds ACKs a resource before its channel switches to the new config (the switch waits for the
 * new cluster's subchannels), so after the ACK, calls are made until one shows the new behaviour.
 */
async function converge(done: (outcome: string) => boolean, headers?: Record<string, string>): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < 200; i++) {
    const outcome = await echo(headers).catch((e: grpc.ServiceError) => `error:${e.code}`);
    if (done(outcome)) return;
    seen.push(outcome);
  }
  assert.fail(`client did not converge after 200 calls; last: ${seen.slice(-5).join(', ')}`);
}

const mesh = (http: unknown[], endpointPods = PODS, extra: object[] = []) => [
  ...echoService(PODS, port, endpointPods),
  echoSubsets('v1', 'v2'),
  echoRoutes(http),
  ...extra,
];

/** Publishes `objects` and resolves once the client ACKs a new version of `typeUrl`. */
async function publishAndAck(objects: object[], typeUrl: string): Promise<void> {
  const acked = waitEvent(h.pilot.events, 'ack', (a) => a.node === CLIENT.id && a.typeUrl === typeUrl);
  h.publish(objects as any);
  await acked;
}

before(async () => {
  (await import('@grpc/grpc-js-xds')).register();
  port = await freePort();
  backends = await Promise.all(PODS.map(startBackend));
  h = await startHarness(undefined);
  await publishAndAckReady();
  const bootstrap = {
    xds_servers: [
      {
        server_uri: `127.0.0.1:${h.ports.grpcPort}`,
        channel_creds: [{ type: 'insecure' }],
        server_features: ['xds_v3'],
      },
    ],
    node: { ...CLIENT, cluster: 'client.default', locality: {} },
  };
  client = new EchoClient(`xds:///${ECHO_HOST}:${ECHO_PORT}`, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
  });
});

async function publishAndAckReady(): Promise<void> {
  const ready = waitEvent(h.pilot.events, 'ready');
  h.publish(mesh([toSubsets(['v1', 100])]));
  await ready;
}

after(async () => {
  client?.close();
  await h?.stop();
  for (const b of backends) b.forceShutdown();
});

test('subset routing: every call goes to v1', async () => {
  const counts = await tally(20);
  assert.deepEqual([...counts], [['v1@127.0.1.1', 20]]);
});

test('a VirtualService change takes effect without restarts', async () => {
  await publishAndAck(mesh([toSubsets(['v2', 100])]), TypeUrl.RouteConfiguration);
  await converge((b) => b.startsWith('v2@'));
  const counts = await tally(30);
  assert.deepEqual([...counts.keys()].sort(), ['v2@127.0.1.2', 'v2@127.0.1.3'], JSON.stringify([...counts]));
});

test('an 80/20 split lands within 5 points over 1,000 calls', async () => {
  await publishAndAck(mesh([toSubsets(['v1', 80], ['v2', 20])]), TypeUrl.RouteConfiguration);
  await converge((b) => b.startsWith('v1@'));
  const counts = await tally(1000);
  const v1 = counts.get('v1@127.0.1.1') ?? 0;
  assert.ok(Math.abs(v1 / 1000 - 0.8) <= 0.05, `v1 share ${v1 / 1000}`);
});

test('header match routes x-version: v2 to v2, the rest to v1', async () => {
  const http = [
    { match: [{ headers: { 'x-version': { exact: 'v2' } } }], ...toSubsets(['v2', 100]) },
    toSubsets(['v1', 100]),
  ];
  await publishAndAck(mesh(http), TypeUrl.RouteConfiguration);
  await converge((b) => b.startsWith('v1@'));
  assert.deepEqual([...(await tally(10)).keys()], ['v1@127.0.1.1']);
  const v2 = await tally(20, { 'x-version': 'v2' });
  assert.ok(
    [...v2.keys()].every((k) => k.startsWith('v2@')),
    JSON.stringify([...v2]),
  );
});

test('an endpoint removal takes effect: only the remaining v2 pod answers', async () => {
  await publishAndAck(mesh([toSubsets(['v2', 100])]), TypeUrl.RouteConfiguration);
  await converge((b) => b.startsWith('v2@'));
  assert.equal((await tally(20)).size, 2);
  const remaining = PODS.filter((p) => p.ip !== '127.0.1.3');
  await publishAndAck(mesh([toSubsets(['v2', 100])], remaining), TypeUrl.ClusterLoadAssignment);
  await converge((b) => b === 'v2@127.0.1.2');
  assert.deepEqual([...(await tally(20)).keys()], ['v2@127.0.1.2']);
});

test('a fault abort fails calls with the mapped status', async () => {
  const http = [
    { fault: { abort: { httpStatus: 503, percentage: { value: 100 } } }, ...toSubsets(['v1', 100]) },
  ];
  await publishAndAck(mesh(http), TypeUrl.RouteConfiguration);
  await converge((o) => o === `error:${grpc.status.UNAVAILABLE}`);
  await assert.rejects(echo(), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
});

test('a cluster the client rejects is NACKed: syncz, rejects metric and the last good config serving', async () => {
  await publishAndAck(mesh([toSubsets(['v1', 100])]), TypeUrl.RouteConfiguration);
  await converge((b) => b === 'v1@127.0.1.1');
  const nacked = waitEvent(
    h.pilot.events,
    'nack',
    (n) => n.proxy === CLIENT.id && n.typeUrl === TypeUrl.Cluster,
  );
  h.publish(mesh([toSubsets(['v1', 100])], PODS, [maglevFilter()]) as any);
  const nack = await nacked;
  assert.match(nack.error, /MAGLEV/);
  assert.equal(nack.pilot, 'pilot-test');
  const syncz = (await h.get('/debug/syncz')).body as any[];
  const entry = syncz.find((s) => s.proxy === CLIENT.id);
  assert.equal(entry.last_nack.type, TypeUrl.Cluster);
  assert.equal(entry.last_nack.nonce, nack.nonce);
  assert.notEqual(entry.cluster_sent, entry.cluster_acked);
  const metrics = (await h.get('/metrics', 'monitoring')).text;
  assert.match(metrics, /^pilot_total_xds_rejects [1-9]/m);
  assert.match(metrics, /^pilot_xds_cds_reject\{node="sidecar~127\.0\.0\.10[^"]*",err="[^"]*MAGLEV/m);
  assert.equal(await echo(), 'v1@127.0.1.1');
});
