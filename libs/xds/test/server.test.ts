import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { encodeMessage, serviceClient, TypeUrl } from '@keel/proto';
import { silentLogger } from '@keel/runtime';
import { createXdsServer, makeResource, Snapshot, SnapshotCache } from '../src/index.js';
import {
  CallQueue,
  edsCluster,
  endpoints,
  type Harness,
  routeConfig,
  startXds,
  waitEvent,
} from './helpers.js';

interface Response {
  version_info: string;
  type_url: string;
  nonce: string;
  resources?: { name?: string }[];
}

let h: Harness;

/** A raw HTTP/2 gRPC client that sends one request and never reads: its flow-control window stays shut. */
function stuckClient(address: string, request: object): http2.ClientHttp2Session {
  const session = http2.connect(`http://${address}`);
  session.on('error', () => {});
  const body = encodeMessage('envoy.service.discovery.v3.DiscoveryRequest', request);
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  const req = session.request({
    ':method': 'POST',
    ':path': '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  req.on('error', () => {});
  req.pause();
  req.write(frame);
  return session;
}
const clients: grpc.Client[] = [];

function client(service: string): any {
  const Ctor = serviceClient(service);
  const c = new Ctor(h.address, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
}

before(async () => {
  h = await startXds(300);
});

after(async () => {
  for (const c of clients) c.close();
  await h.stop();
});

test('per-type CDS stream needs no type_url, and Fetch answers once', async () => {
  h.cache.setSnapshot('typed', new Snapshot([edsCluster('c1'), edsCluster('c2'), endpoints('c1', 1)]));
  const cds = client('envoy.service.cluster.v3.ClusterDiscoveryService');
  const stream = new CallQueue<Response>(cds.StreamClusters());
  stream.write({ node: { id: 'typed' } });
  const r = await stream.next();
  assert.equal(r.type_url, TypeUrl.Cluster);
  assert.deepEqual((r.resources ?? []).map((x) => x.name).sort(), ['c1', 'c2']);
  stream.call.end();

  const eds = client('envoy.service.endpoint.v3.EndpointDiscoveryService');
  const fetched = await new Promise<Response>((resolve, reject) =>
    eds.FetchEndpoints(
      { node: { id: 'typed' }, resource_names: ['c1'] },
      (err: Error | null, res: Response) => (err ? reject(err) : resolve(res)),
    ),
  );
  assert.equal(fetched.type_url, TypeUrl.ClusterLoadAssignment);
  assert.equal(fetched.resources?.length, 1);
});

test('undecodable request bytes fail that call only; the server keeps serving', async () => {
  const garbage = grpc.makeGenericClientConstructor(
    {
      Stream: {
        path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
        requestStream: true,
        responseStream: true,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    'Garbage',
  );
  const g = new garbage(h.address, grpc.credentials.createInsecure());
  clients.push(g);
  const bad = new CallQueue<Buffer>((g as any).Stream());
  bad.write(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
  const status = await bad.status;
  assert.notEqual(status.code, grpc.status.OK);

  h.cache.setSnapshot('after-garbage', new Snapshot([edsCluster('c1')]));
  const ads = client('envoy.service.discovery.v3.AggregatedDiscoveryService');
  const good = new CallQueue<Response>(ads.StreamAggregatedResources());
  good.write({ node: { id: 'after-garbage' }, type_url: TypeUrl.Cluster });
  assert.equal((await good.next()).type_url, TypeUrl.Cluster);
  good.call.end();
});

test('a stream whose writes stop draining is closed after sendTimeoutMs; others are served; drained() follows the writes', async () => {
  // About 3 MB of routes: far beyond what an unread HTTP/2 stream window accepts.
  const domains = Array.from({ length: 30000 }, (_, i) => `host-${i}.example.svc.cluster.local`);
  const big = makeResource(TypeUrl.RouteConfiguration, 'big', {
    name: 'big',
    virtual_hosts: [{ name: 'all', domains, routes: [{ match: { prefix: '/' }, route: { cluster: 'c1' } }] }],
  });
  h.cache.setSnapshot('stuck', new Snapshot([big]));
  h.cache.setSnapshot('healthy', new Snapshot([routeConfig('small', 'c1')]));
  const closed = waitEvent(h.events, 'close', (s: any) => s.node.id === 'stuck');
  const stuckResponded = waitEvent(h.events, 'response', (s: any) => s.node.id === 'stuck');
  const stuck = stuckClient(h.address, {
    node: { id: 'stuck' },
    type_url: TypeUrl.RouteConfiguration,
    resource_names: ['big'],
  });
  const ads = client('envoy.service.discovery.v3.AggregatedDiscoveryService');

  const healthy = new CallQueue<Response>(ads.StreamAggregatedResources());
  healthy.write({ node: { id: 'healthy' }, type_url: TypeUrl.RouteConfiguration, resource_names: ['small'] });
  assert.equal((await healthy.next()).type_url, TypeUrl.RouteConfiguration);
  await h.xds.drained('healthy');
  await h.xds.drained('nobody'); // no stream: at once

  // The stuck stream's response cannot flush: drained() stays pending until the send timeout closes it.
  await stuckResponded;
  const stuckDrained = h.xds.drained('stuck').then(() => h.xds.streams().map((x) => x.node.id));
  const turn = new Promise((resolve) => setImmediate(() => resolve('pending')));
  assert.equal(await Promise.race([stuckDrained, turn]), 'pending');
  assert.deepEqual(await stuckDrained, ['healthy'], 'drained() resolved when the stuck stream closed');
  await closed;
  assert.equal(h.xds.stats().writeTimeouts, 1);
  assert.deepEqual(
    h.xds.streams().map((s) => s.node.id),
    ['healthy'],
  );
  healthy.call.end();
  stuck.destroy();
});

test('admission: a refused node ends its stream (and fetch) with INVALID_ARGUMENT before any session', async () => {
  const cache = new SnapshotCache();
  cache.setSnapshot('ok', new Snapshot([edsCluster('c1')]));
  const opened: string[] = [];
  const xds = createXdsServer({
    cache,
    logger: silentLogger,
    admit: (node) => (node.id === 'ok' ? undefined : `node ${node.id} is not served here`),
    callbacks: { onStreamOpen: (s) => opened.push(s.node.id) },
  });
  const server = new grpc.Server();
  xds.addTo(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const Ads = serviceClient('envoy.service.discovery.v3.AggregatedDiscoveryService');
  const ads = new Ads(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
  try {
    const refused = ads.StreamAggregatedResources();
    refused.on('error', () => {});
    const status = new Promise<grpc.StatusObject>((resolve) => refused.on('status', resolve));
    refused.write({ node: { id: 'bad' }, type_url: TypeUrl.Cluster });
    const s = await status;
    assert.equal(s.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(s.details, 'node bad is not served here');
    const admitted = new CallQueue<Response>(ads.StreamAggregatedResources());
    admitted.write({ node: { id: 'ok' }, type_url: TypeUrl.Cluster });
    assert.deepEqual(
      ((await admitted.next()).resources ?? []).map((r) => r.name),
      ['c1'],
    );
    admitted.call.end();
    assert.deepEqual(opened, ['ok'], 'no session for the refused node');
    const Cds = serviceClient('envoy.service.cluster.v3.ClusterDiscoveryService');
    const cds = new Cds(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      cds.FetchClusters({ node: { id: 'bad' } }, (e: grpc.ServiceError) => resolve(e)),
    );
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    cds.close();
  } finally {
    ads.close();
    xds.close();
    server.forceShutdown();
  }
});
