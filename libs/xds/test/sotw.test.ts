import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { jsonToStruct, serviceClient, TypeUrl } from '@keel/proto';
import { Snapshot } from '../src/index.js';
import {
  apiListener,
  CallQueue,
  edsCluster,
  endpoints,
  type Harness,
  routeConfig,
  startXds,
  streamOf,
  waitEvent,
} from './helpers.js';

const { Cluster: CDS, ClusterLoadAssignment: EDS, Listener: LDS, RouteConfiguration: RDS } = TypeUrl;
const NODE = 'sotw-node';

interface Response {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: { name?: string; cluster_name?: string }[];
}

const names = (r: Response) => r.resources.map((x) => x.name ?? x.cluster_name).sort();

/** A snapshot of the four types; a different `gen` number for a type changes that type's contents. */
function snap(
  gen: Partial<Record<'cds' | 'eds' | 'lds' | 'rds', number>>,
  extraRoutes: string[] = [],
): Snapshot {
  return new Snapshot([
    edsCluster('c1'),
    ...(gen.cds ? [edsCluster(`c-gen${gen.cds}`)] : []),
    endpoints('c1', 10000 + (gen.eds ?? 0)),
    apiListener('l1', 'r1', `lds-gen${gen.lds ?? 0}`),
    routeConfig('r1', `c1-gen${gen.rds ?? 0}`),
    ...extraRoutes.map((n) => routeConfig(n, 'c1')),
  ]);
}

let h: Harness;
let client: grpc.Client;
let ads: CallQueue<Response>;
const node = { id: NODE, cluster: 'test', metadata: jsonToStruct({ app: 'raw' }) };

/** Sends an ACK for `r` (same names as subscribed) and waits until the server recorded it. */
async function ack(r: Response, resourceNames: string[]): Promise<void> {
  const acked = waitEvent(h.events, 'ack', (_s, t, _v, n) => t === r.type_url && n === r.nonce);
  ads.write({
    node,
    type_url: r.type_url,
    version_info: r.version_info,
    response_nonce: r.nonce,
    resource_names: resourceNames,
  });
  await acked;
}

before(async () => {
  h = await startXds();
  const Ads = serviceClient('envoy.service.discovery.v3.AggregatedDiscoveryService');
  client = new Ads(h.address, grpc.credentials.createInsecure());
  ads = new CallQueue((client as any).StreamAggregatedResources());
});

after(async () => {
  ads.call.end();
  client.close();
  await h.stop();
});

const SUBSCRIPTIONS: [string, string[]][] = [
  [CDS, []],
  [EDS, ['c1']],
  [LDS, []],
  [RDS, ['r1']],
];

test('initial responses, then one change to all four types arrives as CDS, EDS, LDS, RDS', async () => {
  h.cache.setSnapshot(NODE, snap({}));
  for (const [type_url, resource_names] of SUBSCRIPTIONS) ads.write({ node, type_url, resource_names });
  for (const [type_url, subscribed] of SUBSCRIPTIONS) {
    const r = await ads.next();
    assert.equal(r.type_url, type_url);
    await ack(r, subscribed);
  }
  assert.deepEqual(streamOf(h.xds, NODE).node.metadata, { app: 'raw' });

  h.cache.setSnapshot(NODE, snap({ cds: 1, eds: 1, lds: 1, rds: 1 }));
  const order: string[] = [];
  for (const [, subscribed] of SUBSCRIPTIONS) {
    const r = await ads.next();
    order.push(r.type_url);
    await ack(r, subscribed);
  }
  assert.deepEqual(order, [CDS, EDS, LDS, RDS]);
});

test('an unchanged snapshot sends nothing: the next response is the later EDS-only change', async () => {
  const before = h.xds.stats().responses;
  h.cache.setSnapshot(NODE, snap({ cds: 1, eds: 1, lds: 1, rds: 1 }));
  h.cache.setSnapshot(NODE, snap({ cds: 1, eds: 2, lds: 1, rds: 1 }));
  const r = await ads.next();
  assert.equal(r.type_url, EDS);
  assert.deepEqual(names(r), ['c1']);
  assert.equal(ads.pending(), 0);
  assert.equal(h.xds.stats().responses, before + 1);
  await ack(r, ['c1']);
});

test('a request with a stale nonce is ignored', async () => {
  const state = streamOf(h.xds, NODE).types[EDS]!;
  const seen = waitEvent(
    h.events,
    'request',
    (_s, t, req: any) => t === EDS && req.response_nonce === 'stale',
  );
  ads.write({
    node,
    type_url: EDS,
    version_info: 'x',
    response_nonce: 'stale',
    resource_names: ['c1', 'c9'],
  });
  await seen;
  const after = streamOf(h.xds, NODE).types[EDS]!;
  assert.deepEqual(after, state, 'stale request changed nothing');
  assert.equal(h.xds.stats().staleNonces, 1);

  h.cache.setSnapshot(NODE, snap({ cds: 1, eds: 2, lds: 1, rds: 2 }));
  const r = await ads.next();
  assert.equal(r.type_url, RDS, 'no EDS response to the stale request came first');
  await ack(r, ['r1']);
});

test('RDS re-subscription sends only the newly subscribed names that exist (partial SotW)', async () => {
  h.cache.setSnapshot(NODE, snap({ cds: 1, eds: 2, lds: 1, rds: 2 }, ['r2', 'r3']));
  assert.equal(ads.pending(), 0);
  const rds = streamOf(h.xds, NODE).types[RDS]!;
  ads.write({
    node,
    type_url: RDS,
    version_info: rds.versionSent,
    response_nonce: rds.nonceSent,
    resource_names: ['r1', 'r2', 'missing'],
  });
  const r = await ads.next();
  assert.equal(r.type_url, RDS);
  assert.deepEqual(names(r), ['r2'], 'r1 is held already and unchanged');
  await ack(r, ['r1', 'r2', 'missing']);
  assert.deepEqual(streamOf(h.xds, NODE).types[RDS]!.names, ['r1', 'r2', 'missing']);
});

test('a NACK is recorded and the rejected version is not resent', async () => {
  h.cache.setSnapshot(NODE, snap({ cds: 1, eds: 2, lds: 1, rds: 3 }, ['r2', 'r3']));
  const r = await ads.next();
  assert.equal(r.type_url, RDS);
  assert.deepEqual(names(r), ['r1'], 'only the changed route config');
  const nacked = waitEvent(h.events, 'nack', (_s, t) => t === RDS);
  const acked = streamOf(h.xds, NODE).types[RDS]!.versionAcked;
  ads.write({
    node,
    type_url: RDS,
    version_info: acked,
    response_nonce: r.nonce,
    resource_names: ['r1', 'r2', 'missing'],
    error_detail: { code: 3, message: 'route rejected' },
  });
  const [, , nack] = (await nacked) as unknown as [unknown, string, { version: string; error: string }];
  assert.deepEqual(
    { version: nack.version, error: nack.error },
    { version: r.version_info, error: 'route rejected' },
  );
  const state = streamOf(h.xds, NODE).types[RDS]!;
  assert.equal(state.lastNack?.nonce, r.nonce);
  assert.equal(state.versionAcked, acked);

  h.cache.setSnapshot(NODE, snap({ cds: 2, eds: 2, lds: 1, rds: 3 }, ['r2', 'r3']));
  const next = await ads.next();
  assert.equal(next.type_url, CDS, 'the NACKed RDS was not resent');
  await ack(next, []);
});

test('a stream whose first request has no node id fails with INVALID_ARGUMENT', async () => {
  const bad = new CallQueue<Response>((client as any).StreamAggregatedResources());
  bad.write({ type_url: CDS, resource_names: [] });
  const status = await bad.status;
  assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(status.details, 'missing node id');
  assert.equal(h.xds.streams().length, 1, 'only the good stream is open');
});
