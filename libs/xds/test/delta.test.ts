import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { serviceClient, TypeUrl } from '@keel/proto';
import { Snapshot, type XdsResource } from '../src/index.js';
import { CallQueue, edsCluster, endpoints, type Harness, startXds, streamOf, waitEvent } from './helpers.js';

const { Cluster: CDS, ClusterLoadAssignment: EDS } = TypeUrl;
const NODE = 'delta-node';
const node = { id: NODE };

interface DeltaResponse {
  system_version_info: string;
  type_url: string;
  nonce: string;
  resources?: { name: string; version: string }[];
  removed_resources?: string[];
}

const names = (r: DeltaResponse) => (r.resources ?? []).map((x) => x.name).sort();

let h: Harness;
let client: grpc.Client;
let delta: CallQueue<DeltaResponse>;
let resources: Map<string, XdsResource>;

/** Replaces some resources (keyed by type/name) and publishes the snapshot. */
function publish(change: XdsResource[] = [], remove: string[] = []): void {
  for (const r of change) resources.set(`${r.typeUrl}/${r.name}`, r);
  for (const key of remove) resources.delete(key);
  h.cache.setSnapshot(NODE, new Snapshot(resources.values()));
}

async function ack(r: DeltaResponse): Promise<void> {
  const acked = waitEvent(h.events, 'ack', (_s, t, _v, n) => t === r.type_url && n === r.nonce);
  delta.write({ node, type_url: r.type_url, response_nonce: r.nonce });
  await acked;
}

before(async () => {
  h = await startXds();
  const Ads = serviceClient('envoy.service.discovery.v3.AggregatedDiscoveryService');
  client = new Ads(h.address, grpc.credentials.createInsecure());
  delta = new CallQueue((client as any).DeltaAggregatedResources());
  resources = new Map();
  publish([edsCluster('c1'), edsCluster('c2'), endpoints('c1', 1001), endpoints('c2', 2001)]);
});

after(async () => {
  delta.call.end();
  client.close();
  await h.stop();
});

test('CDS with no names is wildcard; EDS subscribes by name', async () => {
  delta.write({ node, type_url: CDS });
  const cds = await delta.next();
  assert.equal(cds.type_url, CDS);
  assert.deepEqual(names(cds), ['c1', 'c2']);
  assert.equal(cds.resources![0]!.version, resources.get(`${CDS}/${cds.resources![0]!.name}`)!.version);
  await ack(cds);

  delta.write({ node, type_url: EDS, resource_names_subscribe: ['c1'] });
  const eds = await delta.next();
  assert.deepEqual(names(eds), ['c1']);
  await ack(eds);
  assert.deepEqual(streamOf(h.xds, NODE).types[CDS]!.names, ['*']);
  assert.deepEqual(streamOf(h.xds, NODE).types[EDS]!.names, ['c1']);
});

test('only changed, subscribed resources are sent', async () => {
  publish([endpoints('c1', 1002), endpoints('c2', 2002)]);
  const eds = await delta.next();
  assert.equal(eds.type_url, EDS);
  assert.deepEqual(names(eds), ['c1'], 'c2 is not subscribed');
  await ack(eds);

  publish([edsCluster('c2', 'LEAST_REQUEST')]);
  const cds = await delta.next();
  assert.equal(cds.type_url, CDS);
  assert.deepEqual(names(cds), ['c2'], 'c1 did not change');
  await ack(cds);
});

test('subscribe and unsubscribe EDS names', async () => {
  delta.write({ node, type_url: EDS, resource_names_subscribe: ['c2'], resource_names_unsubscribe: ['c1'] });
  const eds = await delta.next();
  assert.deepEqual(names(eds), ['c2']);
  await ack(eds);
  assert.deepEqual(streamOf(h.xds, NODE).types[EDS]!.names, ['c2']);

  publish([endpoints('c1', 1003)]);
  publish([endpoints('c2', 2003)]);
  const next = await delta.next();
  assert.deepEqual([next.type_url, names(next)], [EDS, ['c2']], 'the unsubscribed c1 change was not sent');
  await ack(next);
});

test('a removed resource is reported in removed_resources', async () => {
  publish([], [`${CDS}/c1`]);
  const cds = await delta.next();
  assert.equal(cds.type_url, CDS);
  assert.deepEqual(cds.resources ?? [], []);
  assert.deepEqual(cds.removed_resources, ['c1']);
  await ack(cds);
});

test('a delta NACK is recorded against the rejected response', async () => {
  publish([edsCluster('c3')]);
  const cds = await delta.next();
  assert.deepEqual(names(cds), ['c3']);
  const nacked = waitEvent(h.events, 'nack', (_s, t) => t === CDS);
  delta.write({
    node,
    type_url: CDS,
    response_nonce: cds.nonce,
    error_detail: { code: 3, message: 'bad cluster' },
  });
  await nacked;
  const state = streamOf(h.xds, NODE).types[CDS]!;
  assert.equal(state.lastNack?.nonce, cds.nonce);
  assert.equal(state.lastNack?.error, 'bad cluster');
  assert.notEqual(state.versionAcked, state.versionSent);

  publish([endpoints('c2', 2004)]);
  const next = await delta.next();
  assert.equal(next.type_url, EDS, 'the rejected c3 was not resent');
});
