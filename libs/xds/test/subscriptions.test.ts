// The xDS subscription rules over a real gRPC stream: wildcard only for an empty first LDS/CDS
// request, an empty RDS/EDS request unsubscribes, a new stream's first request is always answered,
// named LDS/CDS are not told of deletions, and unknown clusters get an empty assignment.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { serviceClient, TypeUrl } from '@keel/proto';
import { Snapshot } from '../src/index.js';
import {
  apiListener,
  CallQueue,
  edsCluster,
  endpoints,
  type Harness,
  routeConfig,
  startXds,
  waitEvent,
} from './helpers.js';

const { Cluster: CDS, ClusterLoadAssignment: EDS, Listener: LDS, RouteConfiguration: RDS } = TypeUrl;

interface Response {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: { name?: string; cluster_name?: string; endpoints?: unknown[] }[];
}
const names = (r: Response) => r.resources.map((x) => x.name ?? x.cluster_name).sort();

let h: Harness;
let client: grpc.Client;
before(async () => {
  h = await startXds();
  const Ads = serviceClient('envoy.service.discovery.v3.AggregatedDiscoveryService');
  client = new Ads(h.address, grpc.credentials.createInsecure());
});
after(async () => {
  client.close();
  await h.stop();
});

function open(): CallQueue<Response> {
  return new CallQueue((client as any).StreamAggregatedResources());
}

const full = () =>
  new Snapshot([
    edsCluster('c1'),
    edsCluster('c2'),
    endpoints('c1', 1001),
    apiListener('l1', 'r1'),
    apiListener('l2', 'r1'),
    routeConfig('r1', 'c1'),
  ]);

/** Sends a request and resolves once the server has handled it. */
async function send(ads: CallQueue<Response>, id: string, req: Record<string, unknown>): Promise<void> {
  const seen = waitEvent(
    h.events,
    'request',
    (s: any, t: string, r: any) =>
      s.node.id === id && t === req.type_url && r.response_nonce === (req.response_nonce ?? ''),
  );
  ads.write({ node: { id }, version_info: '', resource_names: [], ...req });
  await seen;
}

test('an empty RDS or EDS request unsubscribes: nothing is sent, not every resource', async () => {
  const id = 'sub-empty';
  h.cache.setSnapshot(id, full());
  const ads = open();
  await send(ads, id, { type_url: RDS, resource_names: ['r1'] });
  const r = await ads.next();
  assert.deepEqual(names(r), ['r1']);
  await send(ads, id, {
    type_url: RDS,
    resource_names: [],
    response_nonce: r.nonce,
    version_info: r.version_info,
  });
  await send(ads, id, { type_url: EDS, resource_names: [] });
  h.cache.setSnapshot(
    id,
    new Snapshot([...full().resources(RDS).values(), routeConfig('r2', 'c2'), edsCluster('c1')]),
  );
  // A later named request is answered in full: the unsubscribed client dropped what it held.
  await send(ads, id, {
    type_url: RDS,
    resource_names: ['r1'],
    response_nonce: r.nonce,
    version_info: r.version_info,
  });
  const again = await ads.next();
  assert.equal(again.type_url, RDS);
  assert.deepEqual(names(again), ['r1']);
  assert.equal(ads.pending(), 0, 'no answer to the empty requests');
  ads.call.end();
});

test('LDS/CDS: empty first request is a wildcard; named requests get only their names', async () => {
  const id = 'sub-wild';
  h.cache.setSnapshot(id, full());
  const ads = open();
  await send(ads, id, { type_url: LDS });
  assert.deepEqual(names(await ads.next()), ['l1', 'l2']);
  await send(ads, id, { type_url: CDS, resource_names: ['c2'] });
  assert.deepEqual(names(await ads.next()), ['c2']);
  ads.call.end();
});

test("a new stream's first request is answered although it reports the current version", async () => {
  const id = 'sub-restart';
  h.cache.setSnapshot(id, full());
  const first = open();
  await send(first, id, { type_url: LDS, resource_names: ['l1'] });
  const r = await first.next();
  first.call.end();
  const second = open();
  await send(second, id, { type_url: LDS, resource_names: ['l1'], version_info: r.version_info });
  const again = await second.next();
  assert.deepEqual(names(again), ['l1']);
  second.call.end();
});

test('named LDS/CDS keep a deleted resource; EDS answers an unknown cluster with no endpoints', async () => {
  const id = 'sub-held';
  h.cache.setSnapshot(id, full());
  const ads = open();
  await send(ads, id, { type_url: CDS, resource_names: ['c1'] });
  const c = await ads.next();
  await send(ads, id, {
    type_url: CDS,
    resource_names: ['c1'],
    response_nonce: c.nonce,
    version_info: c.version_info,
  });
  await send(ads, id, { type_url: EDS, resource_names: ['c1'] });
  const e = await ads.next();
  assert.equal(e.resources[0]?.endpoints?.length, 1);
  await send(ads, id, {
    type_url: EDS,
    resource_names: ['c1'],
    response_nonce: e.nonce,
    version_info: e.version_info,
  });
  h.cache.setSnapshot(id, new Snapshot([apiListener('l1', 'r1')]));
  const gone = [await ads.next(), await ads.next()].sort((a, b) => a.type_url.localeCompare(b.type_url));
  const [cds, eds] = gone[0]!.type_url === CDS ? gone : [gone[1]!, gone[0]!];
  assert.deepEqual(names(cds!), ['c1'], 'the cluster is still sent');
  assert.deepEqual(names(eds!), ['c1']);
  assert.deepEqual(eds!.resources[0]?.endpoints ?? [], [], 'with no endpoints');
  ads.call.end();
});
