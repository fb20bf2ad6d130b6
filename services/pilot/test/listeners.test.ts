import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSidecarListeners, newListenerStats } from '../src/generate/listeners.js';
import { buildSidecarRoutes } from '../src/generate/routes.js';
import type { ConfigEntry } from '../src/model/types.js';
import { expectGolden } from './golden.js';
import { bookinfoProductpage, type L, listenersJson, nsScope } from './listener-util.js';

const hcmOf = (chain: L): L =>
  chain.filters.find((f: L) => f.name === 'envoy.filters.network.http_connection_manager').typedConfig;
const byName = (ls: L[], name: string): L => {
  const l = ls.find((x) => x.name === name);
  assert.ok(l, `no listener ${name}`);
  return l;
};

describe('sidecar listeners: bookinfo productpage-v1 in default', () => {
  const { push, proxy } = bookinfoProductpage();
  const ls = listenersJson(push, proxy);

  it('has virtualOutbound, virtualInbound, 0.0.0.0_9080 and the pod inbound listener', () => {
    assert.deepEqual(
      ls.map((l) => l.name),
      ['virtualOutbound', 'virtualInbound', '0.0.0.0_9080', `${proxy.ip}_9080`],
    );
    const vo = byName(ls, 'virtualOutbound');
    assert.equal(vo.address.socketAddress.portValue, 15001);
    assert.equal(vo.useOriginalDst, true);
    assert.equal(vo.filterChains[0].filters[0].typedConfig.cluster, 'PassthroughCluster');
    for (const l of ls.slice(2)) assert.equal(l.bindToPort, false);
    expectGolden('lds-bookinfo-productpage', ls);
  });

  it('outbound 0.0.0.0_9080 uses RDS "9080" over ADS with router last', () => {
    const hcm = hcmOf(byName(ls, '0.0.0.0_9080').filterChains[0]);
    assert.equal(hcm.rds.routeConfigName, '9080');
    assert.deepEqual(hcm.rds.configSource, { ads: {}, resourceApiVersion: 'V3' });
    assert.deepEqual(
      hcm.httpFilters.map((f: L) => f.name),
      ['envoy.filters.http.cors', 'envoy.filters.http.fault', 'envoy.filters.http.router'],
    );
  });

  it('inbound listener routes inline to inbound|9080|http|productpage…', () => {
    const l = byName(ls, `${proxy.ip}_9080`);
    assert.equal(l.trafficDirection, 'INBOUND');
    const vh = hcmOf(l.filterChains[0]).routeConfig.virtualHosts[0];
    assert.equal(vh.name, 'inbound|http|9080');
    assert.deepEqual(vh.domains, ['*']);
    assert.equal(vh.routes[0].route.cluster, 'inbound|9080|http|productpage.default.svc.cluster.local');
  });

  it('virtualInbound copies the inbound chain matched on port + pod IP, then passthrough', () => {
    const vi = byName(ls, 'virtualInbound');
    assert.equal(vi.address.socketAddress.portValue, 15006);
    assert.deepEqual(
      vi.listenerFilters.map((f: L) => f.name),
      ['envoy.filters.listener.original_dst'],
    );
    assert.deepEqual(vi.filterChains[0].filterChainMatch, {
      destinationPort: 9080,
      prefixRanges: [{ addressPrefix: proxy.ip, prefixLen: 32 }],
    });
    assert.equal(vi.filterChains.at(-1).filters[0].typedConfig.cluster, 'InboundPassthroughClusterIpv4');
  });

  it('REGISTRY_ONLY sends virtualOutbound to BlackHoleCluster', () => {
    const r = bookinfoProductpage([], { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } });
    const vo = byName(listenersJson(r.push, r.proxy), 'virtualOutbound');
    assert.equal(vo.filterChains[0].filters[0].typedConfig.cluster, 'BlackHoleCluster');
  });
});

describe('sidecar listeners: sidecar-ns-scope (node 100.1.1.2 in ns1)', () => {
  const { push, proxy } = nsScope();
  const ls = listenersJson(push, proxy);

  it('builds the 7 listeners of Istio lds_test, RDS "8080" has 3 virtual hosts', () => {
    assert.deepEqual(
      ls.map((l) => l.name),
      [
        'virtualOutbound',
        'virtualInbound',
        '0.0.0.0_8080',
        '1.1.1.1_15004',
        '1.1.1.2_15004',
        '2.1.1.3_3306',
        '100.1.1.2_8080',
      ],
    );
    const rds = hcmOf(byName(ls, '0.0.0.0_8080').filterChains[0]).rds.routeConfigName;
    const [rc] = buildSidecarRoutes(push, proxy, [rds]);
    assert.equal((rc!.virtual_hosts as unknown[]).length, 3);
    expectGolden('lds-sidecar-ns-scope', ls);
  });

  it('MeshPolicy `mtls: {}` is STRICT: the inbound chain terminates mTLS', () => {
    const l = byName(ls, '100.1.1.2_8080');
    assert.equal(l.filterChains.length, 1);
    const tls = l.filterChains[0].transportSocket.typedConfig;
    assert.equal(tls.requireClientCertificate, true);
    assert.deepEqual(tls.commonTlsContext.alpnProtocols, ['h2', 'http/1.1']);
    const vi = byName(ls, 'virtualInbound');
    assert.ok(vi.listenerFilters.some((f: L) => f.name === 'envoy.filters.listener.tls_inspector'));
  });

  it('mixerReportServer in scope: HCMs and tcp_proxies log to the telemetry cluster', () => {
    const hcm = hcmOf(byName(ls, '0.0.0.0_8080').filterChains[0]);
    const als = hcm.accessLog[0];
    assert.equal(als.name, 'envoy.access_loggers.http_grpc');
    assert.equal(
      als.typedConfig.commonConfig.grpcService.envoyGrpc.clusterName,
      'outbound|15004||istio-telemetry.istio-system.svc.cluster.local',
    );
    assert.equal(als.typedConfig.commonConfig.transportApiVersion, 'V3');
    const tcp = byName(ls, '2.1.1.3_3306').filterChains[0].filters[0].typedConfig;
    assert.equal(tcp.cluster, 'outbound|3306||tcp1.ns1.svc.cluster.local');
    assert.equal(tcp.accessLog[0].name, 'envoy.access_loggers.tcp_grpc');
  });
});

describe('sidecar listeners: conflicts and Sidecar resources', () => {
  const tcpSvc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'legacy', namespace: 'default' },
    spec: { clusterIP: 'None', ports: [{ name: 'tcp', port: 9080 }] },
  };

  it('a headless TCP service on an HTTP port conflicts and is counted (HTTP wins)', () => {
    const { push, proxy } = bookinfoProductpage([], {}, {}, [tcpSvc]);
    const stats = newListenerStats();
    const names = buildSidecarListeners(push, proxy, stats).map((l) => l.name);
    assert.ok(names.includes('0.0.0.0_9080'));
    assert.equal(stats.conflictTcpOverHttp, 1);
  });

  it('Sidecar egress with a port and ingress with defaultEndpoint shape the listeners', () => {
    const sidecar: ConfigEntry['spec'] = {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Sidecar',
      metadata: { name: 'pp', namespace: 'default' },
      spec: {
        workloadSelector: { labels: { app: 'productpage' } },
        ingress: [
          { port: { number: 9080, protocol: 'HTTP', name: 'web' }, defaultEndpoint: '127.0.0.1:8080' },
        ],
        egress: [
          {
            port: { number: 9080, protocol: 'HTTP', name: 'egresshttp' },
            hosts: ['./reviews.default.svc.cluster.local'],
          },
        ],
      },
    };
    const { push, proxy } = bookinfoProductpage([], {}, {}, [sidecar]);
    const ls = listenersJson(push, proxy);
    assert.deepEqual(
      ls.map((l) => l.name),
      ['virtualOutbound', 'virtualInbound', '0.0.0.0_9080', `${proxy.ip}_9080`],
    );
    const vh = hcmOf(byName(ls, `${proxy.ip}_9080`).filterChains[0]).routeConfig.virtualHosts[0];
    assert.equal(vh.routes[0].route.cluster, 'inbound|9080|web|productpage.default.svc.cluster.local');
    const [rc] = buildSidecarRoutes(push, proxy, ['9080']);
    assert.deepEqual(
      (rc!.virtual_hosts as L[]).map((v) => v.name),
      ['reviews.default.svc.cluster.local:9080', 'allow_any'],
    );
  });
});
