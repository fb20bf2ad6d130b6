import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sharedTestdata } from '@keel/testing';
import { buildGatewayListeners, buildGatewayRoutes, mergeGateways } from '../src/generate/gateway.js';
import { buildPushContext } from '../src/model/push-context.js';
import type { ConfigEntry } from '../src/model/types.js';
import {
  bookinfoNetworking,
  loadMesh,
  loadStore,
  makeBookinfoMesh,
  proxyFor,
  routerNode,
} from './fixtures/index.js';
import { expectGolden } from './golden.js';
import { checkedJson, LISTENER, ROUTE_CONFIGURATION } from './route-test-util.js';

const PRODUCTPAGE = 'outbound|9080||productpage.default.svc.cluster.local';

function ingressScenario() {
  const dir = ['tests', 'testdata', 'networking', 'ingress-gateway'];
  const store = loadStore(
    [sharedTestdata(...dir, 'configs.yaml')],
    loadMesh(sharedTestdata(...dir, 'mesh.yaml')),
  );
  const push = buildPushContext(store);
  return { push, proxy: proxyFor(push, routerNode({ ip: '99.1.1.1' })) };
}

describe('gateway: bookinfo-gateway.yaml', () => {
  const store = makeBookinfoMesh([bookinfoNetworking('bookinfo-gateway.yaml')]);
  const push = buildPushContext(store);
  const proxy = proxyFor(push, routerNode({ ip: '10.1.0.1' }));

  it('one HTTP listener 0.0.0.0_80 with RDS http.80', () => {
    const listeners = buildGatewayListeners(push, proxy).map((l) => checkedJson(LISTENER, l));
    assert.deepEqual(
      listeners.map((l) => l.name),
      ['0.0.0.0_80'],
    );
    const l = listeners[0]!;
    assert.equal(l.trafficDirection, 'OUTBOUND');
    assert.equal(l.filterChains.length, 1);
    const hcm = l.filterChains[0].filters[0].typedConfig;
    assert.equal(hcm.rds.routeConfigName, 'http.80');
    assert.equal(hcm.httpFilters.at(-1).name, 'envoy.filters.http.router');
    assert.equal(l.listenerFilters, undefined);
    expectGolden('lds-gateway-bookinfo', listeners);
  });

  it('route http.80: vhost *:80 with 5 routes to productpage', () => {
    const [rc] = buildGatewayRoutes(push, proxy, ['http.80']).map((r) => checkedJson(ROUTE_CONFIGURATION, r));
    assert.deepEqual(
      rc!.virtualHosts.map((v: any) => [v.name, v.domains]),
      [['*:80', ['*', '*:80']]],
    );
    const routes = rc!.virtualHosts[0].routes;
    assert.deepEqual(
      routes.map((r: any) => r.match),
      [
        { path: '/productpage' },
        { prefix: '/static' },
        { path: '/login' },
        { path: '/logout' },
        { prefix: '/api/v1/products' },
      ],
    );
    for (const r of routes) assert.equal(r.route.cluster, PRODUCTPAGE);
    expectGolden('rds-gateway-bookinfo-http.80', rc);
  });

  it('unknown gateway route names get an empty configuration', () => {
    const [rc] = buildGatewayRoutes(push, proxy, ['http.8080']);
    assert.deepEqual(rc, { name: 'http.8080', virtual_hosts: [], validate_clusters: { value: false } });
  });
});

describe('gateway: ingress-gateway scenario (router 99.1.1.1)', () => {
  const { push, proxy } = ingressScenario();

  it('2 listeners (80, 443); 0.0.0.0_443 has 3 filter chains', () => {
    const listeners = buildGatewayListeners(push, proxy).map((l) => checkedJson(LISTENER, l));
    assert.deepEqual(
      listeners.map((l) => l.name),
      ['0.0.0.0_80', '0.0.0.0_443'],
    );
    const tls = listeners[1]!;
    assert.equal(tls.filterChains.length, 3);
    assert.deepEqual(
      tls.filterChains.map((c: any) => c.filterChainMatch.serverNames),
      [['*.bookinfo.com'], ['https.secure.com'], ['tls.secure.com']],
    );
    const terminated = tls.filterChains[0];
    assert.equal(
      terminated.filters[0].typedConfig.rds.routeConfigName,
      'https.443.https.istio-ingressgateway.istio-system',
    );
    const ctx = terminated.transportSocket.typedConfig;
    assert.deepEqual(ctx.commonTlsContext.tlsCertificates, [
      {
        certificateChain: { filename: '/etc/certs/servercert.pem' },
        privateKey: { filename: '/etc/certs/privatekey.pem' },
      },
    ]);
    const passthrough = tls.filterChains[2].filters[0].typedConfig;
    assert.equal(passthrough.cluster, 'outbound|443||https.secure.com');
    assert.equal(tls.listenerFilters[0].name, 'envoy.filters.listener.tls_inspector');
    expectGolden('lds-gateway-ingress-scenario', listeners);
  });

  it('http.80 requires TLS (httpsRedirect); the HTTPS route config serves *.bookinfo.com', () => {
    const [http, https] = buildGatewayRoutes(push, proxy, [
      'http.80',
      'https.443.https.istio-ingressgateway.istio-system',
    ]).map((r) => checkedJson(ROUTE_CONFIGURATION, r));
    assert.equal(http!.virtualHosts[0].name, '*.bookinfo.com:80');
    assert.equal(http!.virtualHosts[0].requireTls, 'ALL');
    assert.equal(https!.virtualHosts[0].name, '*.bookinfo.com:443');
    assert.equal(https!.virtualHosts[0].requireTls, undefined);
    assert.equal(https!.virtualHosts[0].routes[0].route.cluster, 'outbound|80||www.bookinfo.com');
  });
});

function gw(name: string, servers: any[]): ConfigEntry {
  return {
    kind: 'Gateway',
    name,
    namespace: 'ns',
    spec: { selector: {}, servers },
    labels: {},
    annotations: {},
    createdAt: 0,
    version: '1',
  };
}

describe('mergeGateways', () => {
  it('rejects mixing HTTP with HTTPS on one port and duplicate TLS hosts', () => {
    const merged = mergeGateways([
      gw('a', [
        {
          port: { number: 443, name: 'https', protocol: 'HTTPS' },
          hosts: ['a.com'],
          tls: { mode: 'SIMPLE' },
        },
      ]),
      gw('b', [
        { port: { number: 443, name: 'http', protocol: 'HTTP' }, hosts: ['b.com'] },
        {
          port: { number: 443, name: 'https-b', protocol: 'HTTPS' },
          hosts: ['a.com'],
          tls: { mode: 'SIMPLE' },
        },
        {
          port: { number: 443, name: 'https-c', protocol: 'HTTPS' },
          hosts: ['c.com'],
          tls: { mode: 'SIMPLE' },
        },
      ]),
    ]);
    assert.equal(merged.rejected.length, 2);
    assert.deepEqual(
      merged.serversByPort.get(443)!.map((s) => s.server.port.name),
      ['https', 'https-c'],
    );
    assert.deepEqual(
      [...merged.serversByRouteName.keys()],
      ['https.443.https.a.ns', 'https.443.https-c.b.ns'],
    );
  });

  it('blackhole vhost (404) when no VirtualService matches; credentialName uses gateway SDS', () => {
    const store = makeBookinfoMesh();
    const entries = [...store.byKind.entries()];
    const g = gw('g', [
      { port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['*'] },
      {
        port: { number: 8443, name: 'https', protocol: 'HTTPS' },
        hosts: ['x.com'],
        tls: { mode: 'MUTUAL', credentialName: 'x-cred' },
      },
    ]);
    const push = buildPushContext({ ...store, byKind: new Map([...entries, ['Gateway', [g]]]) });
    const proxy = proxyFor(push, routerNode({ ip: '10.1.0.1' }));
    const [rc] = buildGatewayRoutes(push, proxy, ['http.8080']).map((r) =>
      checkedJson(ROUTE_CONFIGURATION, r),
    );
    assert.deepEqual(rc!.virtualHosts[0].name, 'blackhole:8080');
    assert.equal(rc!.virtualHosts[0].routes[0].directResponse.status, 404);
    const l = buildGatewayListeners(push, proxy).map((x) => checkedJson(LISTENER, x));
    const tls = l.find((x) => x.name === '0.0.0.0_8443')!.filterChains[0].transportSocket.typedConfig;
    assert.equal(tls.requireClientCertificate, true);
    assert.equal(tls.commonTlsContext.tlsCertificateSdsSecretConfigs[0].name, 'x-cred');
    assert.equal(
      tls.commonTlsContext.combinedValidationContext.validationContextSdsSecretConfig.name,
      'x-cred-cacert',
    );
  });
});
