import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { jsonToStruct, serviceClient, TypeUrl } from '@keel/proto';
import { Snapshot, SnapshotCache, type SotwResponse } from '../src/index.js';
import { CallQueue, edsCluster, endpoints, type Harness, startXds, waitEvent } from './helpers.js';

const { Cluster: CDS, ClusterLoadAssignment: EDS } = TypeUrl;

interface Response {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: { name?: string }[];
}

const nonceOf = (r: SotwResponse | undefined): string => (r as unknown as { nonce: string }).nonce;

test('two caches in one process: answers, reply numbering (nonces) and empty assignments are their own', () => {
  const a = new SnapshotCache();
  const b = new SnapshotCache();
  const snapshot = new Snapshot([edsCluster('c1'), endpoints('c1', 1)]);
  for (let i = 0; i < 20; i++) assert.ok(a.sotwAnswer(snapshot, EDS, [`c${i}`], ''));
  const fromA = a.sotwAnswer(snapshot, CDS, [], '');
  const fromB = b.sotwAnswer(snapshot, CDS, [], '');
  assert.equal(nonceOf(fromA), 'r21', 'a numbers its own answers');
  assert.equal(nonceOf(fromB), 'r1', "b's numbering is not moved by a's answers");
  assert.notEqual(fromA, fromB, 'the same snapshot is answered by each cache on its own');
  assert.deepEqual(fromA?.resources, fromB?.resources);
  assert.equal(a.sotwAnswer(snapshot, CDS, [], ''), fromA, "a's memo keeps its answer");
  assert.equal(b.sotwAnswer(snapshot, CDS, [], ''), fromB, "b's memo keeps its answer");
  assert.equal(nonceOf(b.reply(CDS, 'v', [])), 'r2');
  assert.equal(nonceOf(a.reply(CDS, 'v', [])), 'r22');
  const emptyA = a.sotwAnswer(snapshot, EDS, ['gone'], '')!.resources[0]!;
  const emptyB = b.sotwAnswer(snapshot, EDS, ['gone'], '')!.resources[0]!;
  assert.deepEqual(emptyA.body, { cluster_name: 'gone', endpoints: [] });
  assert.notEqual(emptyA, emptyB, 'empty assignments are memoized per cache');
  assert.equal(a.sotwAnswer(snapshot, EDS, ['c1', 'gone'], '')!.resources[1], emptyA);
});

/** Opens an ADS stream to `h` asking for every cluster; returns it with its first response. */
async function cdsStream(
  h: Harness,
  id: string,
): Promise<{ ads: CallQueue<Response>; first: Response; close(): void }> {
  const Ads = serviceClient('envoy.service.discovery.v3.AggregatedDiscoveryService');
  const client = new Ads(h.address, grpc.credentials.createInsecure());
  const ads = new CallQueue<Response>((client as any).StreamAggregatedResources());
  ads.write({ node: { id, cluster: 'test', metadata: jsonToStruct({}) }, type_url: CDS, resource_names: [] });
  const first = await ads.next();
  return {
    ads,
    first,
    close: () => {
      ads.call.cancel();
      client.close();
    },
  };
}

test('two servers on two caches in one process: nonces and retained frames do not cross', async () => {
  const one = await startXds();
  const two = await startXds();
  try {
    const snap = (n: number) => new Snapshot(Array.from({ length: n }, (_, i) => edsCluster(`c${i}`)));
    one.cache.setSnapshot('n1', snap(1));
    two.cache.setSnapshot('n2', snap(1));
    const s1 = await cdsStream(one, 'n1');
    assert.equal(s1.first.nonce, 'r1');
    for (let gen = 2; gen <= 4; gen++) {
      const sent = s1.first;
      const acked = waitEvent(one.events, 'ack', (_s, _t, _v, n) => n === sent.nonce);
      s1.ads.write({ type_url: CDS, version_info: sent.version_info, response_nonce: sent.nonce });
      await acked;
      one.cache.setSnapshot('n1', snap(gen * 10));
      s1.first = await s1.ads.next();
      assert.equal(s1.first.nonce, `r${gen}`, 'server one numbers from its cache');
    }
    const retainedOne = one.xds.framedBytesRetained();
    assert.ok(retainedOne > 0, 'server one holds its recent frames');
    assert.equal(two.xds.framedBytesRetained(), 0, 'server two has framed nothing yet');

    const s2 = await cdsStream(two, 'n2');
    assert.equal(s2.first.nonce, 'r1', "server two's numbering is not moved by server one's pushes");
    assert.equal(s2.first.resources.length, 1);
    assert.ok(two.xds.framedBytesRetained() > 0);
    assert.ok(two.xds.framedBytesRetained() < retainedOne, 'server two holds only its own frame');
    assert.equal(one.xds.framedBytesRetained(), retainedOne, "server two's frames do not count in one's");
    const retainedTwo = two.xds.framedBytesRetained();
    assert.equal(two.xds.framesEncoded(), 1);
    const more = await Promise.all([cdsStream(two, 'n2'), cdsStream(two, 'n2'), cdsStream(two, 'n2')]);
    assert.deepEqual(
      more.map((m) => m.first.nonce),
      ['r1', 'r1', 'r1'],
      'streams meeting the reply first send it as is',
    );
    assert.equal(two.xds.framesEncoded(), 1, 'a reply shared by streams is encoded and framed once');
    assert.equal(two.xds.framedBytesRetained(), retainedTwo, 'and held once');
    assert.equal(one.xds.framesEncoded(), 4, 'one frame per reply of server one');
    for (const m of [s1, s2, ...more]) m.close();
  } finally {
    await one.stop();
    await two.stop();
  }
});

test('streams asking the same names share one name list; a different list is its own', async () => {
  const h = await startXds();
  const names = Array.from({ length: 50 }, (_, i) => `c${i}`);
  const snapshot = new Snapshot([...names.map((n) => edsCluster(n)), ...names.map((n) => endpoints(n, 1))]);
  const Ads = serviceClient('envoy.service.discovery.v3.AggregatedDiscoveryService');
  const opened: Array<{ ads: CallQueue<Response>; client: grpc.Client }> = [];
  const eds = async (id: string, asked: string[]) => {
    h.cache.setSnapshot(id, snapshot);
    const client = new Ads(h.address, grpc.credentials.createInsecure());
    const ads = new CallQueue<Response>((client as any).StreamAggregatedResources());
    opened.push({ ads, client });
    ads.write({
      node: { id, cluster: 'test', metadata: jsonToStruct({}) },
      type_url: EDS,
      resource_names: asked,
    });
    const first = await ads.next();
    assert.equal(first.resources.length, asked.length);
    return { ads, first };
  };
  try {
    const streams = await Promise.all(['n1', 'n2', 'n3'].map((id) => eds(id, names)));
    assert.equal(h.xds.nameSetsHeld(), 1, 'three streams, one list');
    // An ACK repeating the names keeps the shared list.
    const { ads, first } = streams[0]!;
    const acked = waitEvent(h.events, 'ack', (_s, _t, _v, n) => n === first.nonce);
    ads.write({
      type_url: EDS,
      version_info: first.version_info,
      response_nonce: first.nonce,
      resource_names: names,
    });
    await acked;
    assert.equal(h.xds.nameSetsHeld(), 1);
    await eds('n4', names.slice(1));
    assert.equal(h.xds.nameSetsHeld(), 2, 'another list is held on its own');
  } finally {
    for (const o of opened) {
      o.ads.call.cancel();
      o.client.close();
    }
    await h.stop();
  }
});
