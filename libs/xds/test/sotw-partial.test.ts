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
  waitEvent,
} from './helpers.js';

const { Cluster: CDS, ClusterLoadAssignment: EDS } = TypeUrl;
const NODE = 'partial-node';
const CLUSTERS = ['c1', 'c2', 'c3'];

interface Response {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: { name?: string; cluster_name?: string }[];
}

const names = (r: Response) => r.resources.map((x) => x.name ?? x.cluster_name).sort();

/** Three EDS clusters; `ports[i]` is the endpoint port of CLUSTERS[i]. */
function snap(ports: number[], extraCluster = false): Snapshot {
  return new Snapshot([
    ...CLUSTERS.map((c) => edsCluster(c)),
    ...(extraCluster ? [edsCluster('c-extra')] : []),
    ...CLUSTERS.map((c, i) => endpoints(c, ports[i] ?? 1)),
    apiListener('l1', 'r1'),
    routeConfig('r1', 'c1'),
  ]);
}

let h: Harness;
let client: grpc.Client;
const node = { id: NODE, cluster: 'test', metadata: jsonToStruct({}) };
const Ads = serviceClient('envoy.service.discovery.v3.AggregatedDiscoveryService');
const open: CallQueue<Response>[] = [];

function stream(): CallQueue<Response> {
  const q = new CallQueue<Response>((client as any).StreamAggregatedResources());
  open.push(q);
  return q;
}

/** Writes a request and waits until the server handled it (its `request` callback ran). */
async function request(
  q: CallQueue<Response>,
  body: { type_url: string; response_nonce?: string; [k: string]: unknown },
) {
  const seen = waitEvent(
    h.events,
    'request',
    (_s, t, req: any) => t === body.type_url && req.response_nonce === (body.response_nonce ?? ''),
  );
  q.write({ node, ...body });
  await seen;
}

async function ack(q: CallQueue<Response>, r: Response, resource_names: string[]): Promise<void> {
  const acked = waitEvent(h.events, 'ack', (_s, t, _v, n) => t === r.type_url && n === r.nonce);
  q.write({
    node,
    type_url: r.type_url,
    version_info: r.version_info,
    response_nonce: r.nonce,
    resource_names,
  });
  await acked;
}

before(async () => {
  h = await startXds();
  client = new Ads(h.address, grpc.credentials.createInsecure());
});

after(async () => {
  for (const q of open) q.call.end();
  client.close();
  await h.stop();
});

test('an EDS change of one cluster sends exactly that ClusterLoadAssignment; CDS stays full', async () => {
  h.cache.setSnapshot(NODE, snap([1, 2, 3]));
  const ads = stream();
  ads.write({ node, type_url: CDS, resource_names: [] });
  await ack(ads, await ads.next(), []);
  ads.write({ node, type_url: EDS, resource_names: CLUSTERS });
  const first = await ads.next();
  assert.deepEqual(names(first), CLUSTERS, 'the first EDS response holds every requested name');
  await ack(ads, first, CLUSTERS);

  h.cache.setSnapshot(NODE, snap([1, 20, 3]));
  const r = await ads.next();
  assert.equal(r.type_url, EDS);
  assert.deepEqual(names(r), ['c2']);
  assert.notEqual(r.version_info, first.version_info, 'the version names the full new state');
  await ack(ads, r, CLUSTERS);

  h.cache.setSnapshot(NODE, snap([1, 20, 3], true));
  const cds = await ads.next();
  assert.equal(cds.type_url, CDS);
  assert.deepEqual(names(cds), ['c-extra', ...CLUSTERS], 'CDS carries the full state');
  await ack(ads, cds, []);
  assert.equal(ads.pending(), 0);
  ads.call.end();
});

test('unsubscribing sends nothing; subscribing again resends the dropped name', async () => {
  h.cache.setSnapshot(NODE, snap([1, 2, 3]));
  const ads = stream();
  ads.write({ node, type_url: EDS, resource_names: CLUSTERS });
  const first = await ads.next();
  await ack(ads, first, CLUSTERS);
  const sent = h.xds.stats().responses;

  await request(ads, {
    type_url: EDS,
    version_info: first.version_info,
    response_nonce: first.nonce,
    resource_names: ['c1', 'c2'],
  });
  assert.equal(h.xds.stats().responses, sent, 'dropping c3 sends nothing');

  ads.write({
    node,
    type_url: EDS,
    version_info: first.version_info,
    response_nonce: first.nonce,
    resource_names: CLUSTERS,
  });
  const again = await ads.next();
  assert.deepEqual(names(again), ['c3']);
  await ack(ads, again, CLUSTERS);
  ads.call.end();
});

test('subscription changes leave one cache watch per type: no fired watch stays registered per request', async () => {
  // Dropping a name is answered by an empty diff while the new watch registers, which re-arms at once;
  // the watch of every such request used to stay in the cache for good (Pilot grew with pushes).
  const id = 'watch-count-node';
  const n = { id, cluster: 'test', metadata: jsonToStruct({}) };
  h.cache.setSnapshot(id, snap([1, 2, 3]));
  const ads = stream();
  const watches = () => h.cache.nodes().find((st) => st.nodeId === id)?.watches;
  ads.write({ node: n, type_url: EDS, resource_names: CLUSTERS });
  let held = await ads.next();
  for (let i = 0; i < 20; i++) {
    const handled = waitEvent(
      h.events,
      'request',
      (_s, t, req: any) => t === EDS && req.response_nonce === held.nonce && req.resource_names.length === 2,
    );
    const { version_info, nonce } = held;
    ads.write({ node: n, type_url: EDS, version_info, response_nonce: nonce, resource_names: ['c1', 'c2'] });
    await handled;
    assert.equal(watches(), 1, `after dropping c3 (round ${i})`);
    ads.write({ node: n, type_url: EDS, version_info, response_nonce: nonce, resource_names: CLUSTERS });
    held = await ads.next();
    assert.deepEqual(names(held), ['c3'], 'subscribing again sends the dropped name');
    assert.equal(watches(), 1, `after subscribing again (round ${i})`);
  }
  ads.call.end();
});

test('a NACKed partial EDS response is not resent; a later change sends only what changed since', async () => {
  h.cache.setSnapshot(NODE, snap([1, 2, 3]));
  const ads = stream();
  ads.write({ node, type_url: EDS, resource_names: CLUSTERS });
  const first = await ads.next();
  await ack(ads, first, CLUSTERS);

  h.cache.setSnapshot(NODE, snap([1, 22, 3]));
  const bad = await ads.next();
  assert.deepEqual(names(bad), ['c2']);
  const nacked = waitEvent(h.events, 'nack', (_s, t) => t === EDS);
  ads.write({
    node,
    type_url: EDS,
    version_info: first.version_info,
    response_nonce: bad.nonce,
    resource_names: CLUSTERS,
    error_detail: { code: 3, message: 'endpoint rejected' },
  });
  await nacked;
  h.cache.setSnapshot(NODE, snap([1, 22, 3]));
  h.cache.setSnapshot(NODE, snap([11, 22, 3]));
  const next = await ads.next();
  assert.deepEqual(names(next), ['c1'], 'the rejected c2 is not resent with c1');
  await ack(ads, next, CLUSTERS);
  ads.call.end();
});

test('streams asking the same thing share one encoded response and its nonce', async () => {
  h.cache.setSnapshot(NODE, snap([5, 6, 7]));
  const a = stream();
  const b = stream();
  b.write({ node, type_url: CDS, resource_names: [] });
  await b.next();
  for (const q of [a, b]) q.write({ node, type_url: EDS, resource_names: CLUSTERS });
  const [ra, rb] = [await a.next(), await b.next()];
  assert.deepEqual(ra, rb);
  assert.deepEqual(names(ra), CLUSTERS);
  a.call.end();
  b.call.end();
});

test('a reply a stream already had gets a nonce of its own when sent again', async () => {
  const s1 = snap([8, 8, 8]);
  h.cache.setSnapshot(NODE, s1);
  const ads = stream();
  ads.write({ node, type_url: CDS, resource_names: [] });
  const r1 = await ads.next();
  await ack(ads, r1, []);
  h.cache.setSnapshot(NODE, snap([8, 8, 8], true));
  await ack(ads, await ads.next(), []);
  h.cache.setSnapshot(NODE, s1);
  const again = await ads.next();
  assert.deepEqual({ ...again, nonce: r1.nonce }, r1, 'the same content');
  assert.notEqual(again.nonce, r1.nonce);
  const stale = h.xds.stats().staleNonces;
  await request(ads, {
    type_url: CDS,
    version_info: r1.version_info,
    response_nonce: r1.nonce,
    resource_names: [],
  });
  assert.equal(h.xds.stats().staleNonces, stale + 1, 'the first nonce is stale');
  await ack(ads, again, []);
  ads.call.end();
});
