// Readiness against Envoy's admin API (a stand-in admin server: no Envoy binary on this machine).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { envoyReady, parseAppProbers } from '../src/index.js';

test('Envoy is ready once CDS and LDS updated (or were rejected) and the server is LIVE', async () => {
  let stats = 'cluster_manager.cds.update_success: 0\nlistener_manager.lds.update_success: 0\n';
  let state = 'PRE_INITIALIZING';
  let ports = [15001];
  const admin = createServer((req, res) => {
    if (req.url === '/listeners?format=json')
      res.end(
        JSON.stringify({
          listener_statuses: ports.map((p) => ({ local_address: { socket_address: { port_value: p } } })),
        }),
      );
    else if (req.url?.startsWith('/stats?usedonly')) res.end(stats);
    else if (req.url === '/server_info') res.end(JSON.stringify({ state }));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
  const port = (admin.address() as AddressInfo).port;
  try {
    assert.equal(await envoyReady(port), 'config not received from Pilot (cds 0, lds 0)');
    stats = 'cluster_manager.cds.update_success: 2\nlistener_manager.lds.update_rejected: 1\n';
    assert.equal(await envoyReady(port), 'Envoy state is PRE_INITIALIZING');
    state = 'LIVE';
    assert.equal(await envoyReady(port), undefined);
    // A router also waits for its application ports.
    assert.equal(await envoyReady(port, [80, 443]), 'no listener yet on application port(s) 80, 443');
    ports = [15001, 80, 443];
    assert.equal(await envoyReady(port, [80, 443]), undefined);
  } finally {
    admin.close();
  }
});

test('ISTIO_KUBE_APP_PROBERS: rewritten probe paths only, each with a handler', () => {
  assert.deepEqual(parseAppProbers(undefined), {});
  const ok = parseAppProbers('{"/app-health/web/livez":{"httpGet":{"path":"/health","port":8080}}}');
  assert.equal(ok['/app-health/web/livez']?.httpGet?.port, 8080);
  assert.throws(() => parseAppProbers('{"/other":{"httpGet":{"port":1}}}'), /bad path \/other/);
  assert.throws(() => parseAppProbers('{"/app-health/web/readyz":{}}'), /no httpGet or tcpSocket/);
  assert.throws(() => parseAppProbers('{nope'), SyntaxError);
});
