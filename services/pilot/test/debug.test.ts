// Debug endpoints on the HTTP and monitoring ports: shapes and contents for one connected sidecar.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TypeUrl } from '@keel/proto';
import { AdsClient, sidecarNode } from './server-ads.js';
import { type Harness, startHarness, waitEvent } from './server-harness.js';
import { echoRoutes, echoService, echoSubsets, toSubsets } from './server-mesh.js';

const NODE = sidecarNode('sleep-0', '10.40.0.99');
let h: Harness;
let ads: AdsClient;

before(async () => {
  h = await startHarness(undefined);
  const ready = waitEvent(h.pilot.events, 'ready');
  h.publish([
    ...echoService([{ name: 'echo-v1-0', ip: '127.0.1.1', version: 'v1' }], 8080),
    echoSubsets('v1'),
    echoRoutes([toSubsets(['v1', 100])]),
  ]);
  await ready;
  ads = new AdsClient(`127.0.0.1:${h.ports.grpcPort}`, NODE);
  ads.write({ type_url: TypeUrl.Cluster, resource_names: [] });
  const r = await ads.next();
  const acked = waitEvent(h.pilot.events, 'ack', (a) => a.node === NODE.id);
  ads.write({
    type_url: r.type_url,
    version_info: r.version_info,
    response_nonce: r.nonce,
    resource_names: [],
  });
  await acked;
});

after(async () => {
  ads?.close();
  await h?.stop();
});

for (const port of ['http', 'monitoring'] as const) {
  test(`/debug/syncz on ${port}: one synced entry per proxy`, async () => {
    const { status, body } = await h.get('/debug/syncz', port);
    assert.equal(status, 200);
    assert.equal(body.length, 1);
    const s = body[0];
    assert.equal(s.proxy, NODE.id);
    assert.equal(s.proxy_version, '1.4.10');
    assert.equal(typeof s.istio_version, 'string');
    assert.notEqual(s.cluster_sent, '', 'a CDS nonce was sent');
    assert.equal(s.cluster_acked, s.cluster_sent, 'and acknowledged');
    for (const k of ['listener', 'route', 'endpoint']) assert.equal(s[`${k}_sent`], '');
    assert.equal(s.last_nack, undefined);
  });
}

test('/debug/adsz lists the connection, its streams and snapshot resource names', async () => {
  const [a] = (await h.get('/debug/adsz')).body;
  assert.equal(a.node, NODE.id);
  assert.equal(a.proxy, 'sleep-0.default');
  assert.equal(a.streams.length, 1);
  assert.ok(a.resources.cluster.includes('outbound|7070|v1|echo.default.svc.cluster.local'));
  assert.ok(a.resources.listener.includes('0.0.0.0_7070'), JSON.stringify(a.resources.listener));
});

test('/debug/configz, /debug/registryz and /debug/endpointz show the store and registry', async () => {
  const configz = (await h.get('/debug/configz', 'monitoring')).body as any[];
  const vs = configz.find((c) => c.kind === 'VirtualService');
  assert.equal(vs.name, 'echo');
  assert.equal(vs.namespace, 'default');
  assert.equal(vs.spec.http[0].route[0].destination.subset, 'v1');
  const registry = (await h.get('/debug/registryz')).body as any[];
  assert.deepEqual(
    registry.map((s) => s.hostname),
    ['echo.default.svc.cluster.local'],
  );
  const endpoints = (await h.get('/debug/endpointz')).body as any[];
  assert.equal(endpoints[0].service, 'echo.default.svc.cluster.local');
  assert.equal(endpoints[0].endpoints[0].address, '127.0.1.1');
});

test('/debug/config_dump is an Envoy v3 ConfigDump; unknown proxies get 404', async () => {
  const { status, body } = await h.get('/debug/config_dump?proxyID=sleep-0.default');
  assert.equal(status, 200);
  assert.deepEqual(
    body.configs.map((c: any) => c['@type']),
    ['Clusters', 'Endpoints', 'Listeners', 'Routes'].map(
      (t) => `type.googleapis.com/envoy.admin.v3.${t}ConfigDump`,
    ),
  );
  const cluster = body.configs[0].dynamic_active_clusters.find(
    (c: any) => c.cluster.name === 'outbound|7070|v1|echo.default.svc.cluster.local',
  );
  assert.equal(cluster.cluster['@type'], TypeUrl.Cluster);
  assert.equal(cluster.cluster.type, 'EDS');
  assert.ok(
    body.configs[2].dynamic_listeners.some((l: any) => l.active_state.listener.name === '0.0.0.0_7070'),
  );
  const missing = await h.get('/debug/config_dump?proxyID=nobody.default');
  assert.equal(missing.status, 404);
  assert.match(missing.body.error, /nobody\.default/);
});

test('/debug/push_status reports the last push; metrics carry the pilot_* names', async () => {
  const push = (await h.get('/debug/push_status')).body;
  assert.equal(push.full, true);
  assert.equal(typeof push.durationMs, 'number');
  assert.equal(push.connected, 1);
  assert.ok(push.xds.responses >= 1);
  const metrics = (await h.get('/metrics', 'monitoring')).text;
  for (const line of [
    /^pilot_xds 1$/m,
    /^pilot_services 1$/m,
    /^pilot_virt_services 1$/m,
    /^pilot_xds_pushes\{type="cds"\} [1-9]/m,
    /^pilot_inbound_updates\{type="eds"\} 1$/m,
    /^pilot_info\{version="[^"]+"\} 1$/m,
    /^pilot_xds_push_time_bucket\{le="0.01",type="cds"\}/m,
    /^pilot_proxy_convergence_time_bucket\{le="0.1"\}/m,
    /^pilot_xds_write_timeout 0$/m,
  ]) {
    assert.match(metrics, line);
  }
});
