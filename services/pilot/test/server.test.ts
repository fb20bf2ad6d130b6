// Pilot over raw ADS clients: readiness, push order, EDS-only and no-op pushes, delta, invalid nodes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { TypeUrl } from '@keel/proto';
import { edsServiceName, referencedRouteNames } from '@keel/xds';
import { AdsClient, type AdsResponse, sidecarNode } from './server-ads.js';
import { type Harness, startHarness, waitEvent } from './server-harness.js';
import { type EchoPod, echoRoutes, echoService, echoSubsets, toSubsets } from './server-mesh.js';

const { Cluster: CDS, ClusterLoadAssignment: EDS, Listener: LDS, RouteConfiguration: RDS } = TypeUrl;
const PODS: EchoPod[] = [
  { name: 'echo-v1-0', ip: '127.0.1.1', version: 'v1' },
  { name: 'echo-v2-0', ip: '127.0.1.2', version: 'v2' },
];
const NODE = sidecarNode('sleep-0', '10.40.0.99');

const other = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'other', namespace: 'default' },
  spec: {
    clusterIP: '10.0.0.11',
    selector: { app: 'other' },
    ports: [
      { name: 'http', port: 7070, targetPort: 8080 },
      { name: 'http-admin', port: 9090, targetPort: 9090 },
    ],
  },
};
const mesh = (endpointPods = PODS, extra: object[] = []) => [
  ...echoService(PODS, 8080, endpointPods),
  echoSubsets('v1', 'v2'),
  echoRoutes([toSubsets(['v1', 100])]),
  ...extra,
];

let h: Harness;
let ads: AdsClient;
const subscribed: Record<string, string[]> = { [CDS]: [], [EDS]: [], [LDS]: [], [RDS]: [] };

const resourcesOf = (r: AdsResponse) => r.resources as Record<string, any>[];

async function ack(r: AdsResponse): Promise<void> {
  const acked = waitEvent(h.pilot.events, 'ack', (a) => a.node === NODE.id && a.nonce === r.nonce);
  ads.write({
    type_url: r.type_url,
    version_info: r.version_info,
    response_nonce: r.nonce,
    resource_names: subscribed[r.type_url],
  });
  await acked;
}

/** Publishes `objects`; resolves with the push status and the types sent to NODE by that push, in order. */
async function pushOf(publish: () => void): Promise<{ status: any; sent: string[] }> {
  const sent: string[] = [];
  const record = (e: { node: string; typeUrl: string }) => e.node === NODE.id && sent.push(e.typeUrl);
  h.pilot.events.on('response', record);
  const pushed = waitEvent(h.pilot.events, 'push');
  publish();
  const status = await pushed;
  h.pilot.events.off('response', record);
  return { status, sent };
}

before(async () => {
  h = await startHarness(undefined);
});

after(async () => {
  ads?.close();
  await h?.stop();
});

test('not ready before the MCP sink has synced; ready after the first push', async () => {
  assert.equal((await h.get('/ready')).status, 503);
  assert.equal((await h.get('/ready', 'monitoring')).status, 503);
  assert.equal(h.pilot.ready(), false);
  const ready = waitEvent(h.pilot.events, 'ready');
  h.publish(mesh());
  await ready;
  assert.equal((await h.get('/ready')).status, 200);
  assert.equal((await h.get('/ready', 'monitoring')).status, 200);
});

test('a sidecar receives CDS, EDS, LDS, RDS; a change to all four arrives in that order', async () => {
  ads = new AdsClient(`127.0.0.1:${h.ports.grpcPort}`, NODE);
  ads.write({ type_url: CDS, resource_names: [] });
  const cds = await ads.next();
  assert.equal(cds.type_url, CDS);
  await ack(cds);
  subscribed[EDS] = resourcesOf(cds)
    .map((c) => edsServiceName(c))
    .filter((n): n is string => !!n);
  assert.ok(subscribed[EDS]!.includes('outbound|7070|v1|echo.default.svc.cluster.local'));
  ads.write({ type_url: EDS, resource_names: subscribed[EDS] });
  await ack(await ads.next());
  ads.write({ type_url: LDS, resource_names: [] });
  const lds = await ads.next();
  await ack(lds);
  subscribed[RDS] = [...new Set(resourcesOf(lds).flatMap((l) => referencedRouteNames(l)))];
  assert.ok(subscribed[RDS]!.includes('7070'));
  ads.write({ type_url: RDS, resource_names: subscribed[RDS] });
  await ack(await ads.next());

  const { sent } = await pushOf(() => h.publish(mesh([PODS[0]!], [other])));
  assert.deepEqual(sent, [CDS, EDS, LDS, RDS]);
  for (const t of sent) {
    const r = await ads.next();
    assert.equal(r.type_url, t);
    await ack(r);
  }
});

test('an endpoint-only change pushes only EDS', async () => {
  const { status, sent } = await pushOf(() => h.publish(mesh(PODS, [other])));
  assert.equal(status.full, false);
  assert.deepEqual(status.edsHosts, ['echo.default.svc.cluster.local']);
  assert.deepEqual(sent, [EDS]);
  const r = await ads.next();
  assert.equal(r.type_url, EDS);
  const v2 = resourcesOf(r).find((c) => c.cluster_name === 'outbound|7070|v2|echo.default.svc.cluster.local');
  assert.equal(v2?.endpoints?.[0]?.lb_endpoints?.length, 1);
  await ack(r);
});

test('a full push with nothing changed sends nothing', async () => {
  const { status, sent } = await pushOf(() => void h.post('/debug/adsz?push=1'));
  assert.equal(status.full, true);
  assert.deepEqual(sent, []);
  assert.equal(ads.pending(), 0);
});

test('a forced push is a POST, and rate-limited', async () => {
  const get = await h.get('/debug/adsz?push=1');
  assert.equal(get.status, 405);
  const again = await h.post('/debug/adsz?push=1');
  assert.equal(again.status, 429, 'a second forced push within the interval is refused');
  assert.match(again.text, /retry in/);
});

test('a delta ADS client with the same scope receives the same clusters from a shared build', async () => {
  const node = sidecarNode('sleep-1', '10.40.0.98');
  const delta = new AdsClient(`127.0.0.1:${h.ports.grpcPort}`, node, true);
  try {
    delta.write({ type_url: CDS });
    const r = await delta.next();
    assert.equal(r.type_url, CDS);
    const names = r.resources.map((x: any) => x.name).sort();
    const sotw = h.pilot;
    const adsz = (await h.get('/debug/adsz')).body as any[];
    const a = adsz.find((x) => x.node === NODE.id);
    const b = adsz.find((x) => x.node === node.id);
    assert.deepEqual(names, [...a.resources.cluster].sort());
    assert.equal(a.configKey, b.configKey);
    assert.ok(sotw.ready());
  } finally {
    delta.close();
  }
});

test('a node whose id does not parse is refused with INVALID_ARGUMENT', async () => {
  const bad = new AdsClient(`127.0.0.1:${h.ports.grpcPort}`, { id: 'not-a-node', cluster: '', metadata: {} });
  bad.write({ type_url: CDS });
  const status = await bad.status;
  bad.close();
  assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  assert.match(status.details, /invalid node id "not-a-node"/);
  assert.match((await h.get('/metrics', 'monitoring')).text, /^pilot_xds_invalid_nodes 1/m);
});
