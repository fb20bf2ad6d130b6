import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findUnknownFields, toProtoJson } from '@keel/proto';
import { sharedTestdata } from '@keel/testing';
import { buildClusters } from '../src/generate/clusters.js';
import { buildPushContext } from '../src/model/push-context.js';
import type { Proxy as MeshProxy, PushContext } from '../src/model/types.js';
import {
  bookinfoNetworking,
  grpcNode,
  loadMesh,
  loadStore,
  makeBookinfoMesh,
  podEntry,
  proxyFor,
  routerNode,
  sidecarNode,
  snapshotOf,
  toConfigEntry,
} from './fixtures/index.js';
import { expectGolden } from './golden.js';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
type Cluster = Record<string, any>;

function clustersOf(push: PushContext, proxy: MeshProxy): Cluster[] {
  const clusters = buildClusters(push, proxy) as Cluster[];
  for (const c of clusters)
    assert.deepEqual(findUnknownFields(CLUSTER, c), [], `unknown fields in ${c.name}`);
  return clusters;
}

function bookinfo(files: string[] = [], metadata: Record<string, unknown> = {}) {
  const store = makeBookinfoMesh(files.map(bookinfoNetworking));
  const push = buildPushContext(store);
  const proxy = proxyFor(push, sidecarNode(podEntry(store, 'productpage-v1-0'), { metadata }));
  return { push, proxy, clusters: clustersOf(push, proxy) };
}

const byName = (clusters: Cluster[], name: string): Cluster => {
  const c = clusters.find((x) => x.name === name);
  assert.ok(c, `no cluster ${name}`);
  return c;
};

const tlsContextOf = (c: Cluster): Record<string, any> => {
  const json = toProtoJson(CLUSTER, c) as Record<string, any>;
  return json.transportSocket.typedConfig;
};

const host = (svc: string) => `${svc}.default.svc.cluster.local`;
const BOOKINFO = ['details', 'productpage', 'ratings', 'reviews'];

describe('buildClusters: bookinfo sidecar in default', () => {
  it('has 4 EDS outbound clusters, the special clusters and its own inbound cluster', () => {
    const { clusters } = bookinfo();
    const expected = [
      'BlackHoleCluster',
      'InboundPassthroughClusterIpv4',
      'PassthroughCluster',
      'inbound|9080|http|productpage.default.svc.cluster.local',
      ...BOOKINFO.map((s) => `outbound|9080||${host(s)}`),
    ].sort();
    assert.deepEqual(
      clusters.map((c) => c.name),
      expected,
    );
    for (const s of BOOKINFO) {
      const c = byName(clusters, `outbound|9080||${host(s)}`);
      assert.equal(c.type, 'EDS');
      assert.equal(c.eds_cluster_config.service_name, c.name);
      assert.equal(c.circuit_breakers.thresholds[0].max_requests.value, 4294967295);
    }
    const inbound = byName(clusters, 'inbound|9080|http|productpage.default.svc.cluster.local');
    assert.equal(inbound.type, 'STATIC');
    assert.deepEqual(inbound.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, {
      address: '127.0.0.1',
      port_value: 9080,
    });
    expectGolden(
      'cds-bookinfo-productpage',
      clusters.map((c) => toProtoJson(CLUSTER, c)),
    );
  });

  it('adds subset clusters for destination-rule-all.yaml', () => {
    const { clusters } = bookinfo(['destination-rule-all.yaml']);
    const subsets: Record<string, string[]> = {
      productpage: ['v1'],
      reviews: ['v1', 'v2', 'v3'],
      ratings: ['v1', 'v2', 'v2-mysql', 'v2-mysql-vm'],
      details: ['v1', 'v2'],
    };
    const outbound = clusters.filter((c) => c.name.startsWith('outbound|')).map((c) => c.name);
    const expected = Object.entries(subsets)
      .flatMap(([svc, names]) => [
        `outbound|9080||${host(svc)}`,
        ...names.map((n) => `outbound|9080|${n}|${host(svc)}`),
      ])
      .sort();
    assert.deepEqual(outbound, expected);
    for (const name of outbound) assert.equal(byName(clusters, name).type, 'EDS');
    assert.equal(clusters.length, expected.length + 4);
  });

  it('gives every cluster an ISTIO_MUTUAL context with destination-rule-all-mtls.yaml', () => {
    const { clusters } = bookinfo(['destination-rule-all-mtls.yaml']);
    const outbound = clusters.filter((c) => c.name.startsWith('outbound|'));
    assert.equal(outbound.length, 14);
    for (const c of outbound) {
      const [, port, subset, h] = c.name.split('|');
      const ctx = tlsContextOf(c);
      assert.equal(
        ctx['@type'],
        'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      );
      assert.equal(ctx.sni, `outbound_.${port}_.${subset}_.${h}`);
      assert.deepEqual(ctx.commonTlsContext.alpnProtocols, ['istio']);
      assert.equal(
        ctx.commonTlsContext.tlsCertificates[0].certificateChain.filename,
        '/etc/certs/cert-chain.pem',
      );
    }
    const reviews = tlsContextOf(byName(clusters, `outbound|9080|v2|${host('reviews')}`));
    assert.deepEqual(reviews.commonTlsContext.validationContext.matchTypedSubjectAltNames, [
      { sanType: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews' } },
    ]);
    assert.equal(
      reviews.commonTlsContext.validationContext.matchSubjectAltNames,
      undefined,
      'deprecated form',
    );
    expectGolden(
      'cds-bookinfo-mtls-reviews-v2',
      toProtoJson(CLUSTER, byName(clusters, `outbound|9080|v2|${host('reviews')}`)),
    );
  });

  it('uses SDS secrets default/ROOTCA when the proxy metadata sets SDS', () => {
    const { clusters } = bookinfo(['destination-rule-all-mtls.yaml'], { SDS: 'true' });
    const ctx = tlsContextOf(byName(clusters, `outbound|9080||${host('ratings')}`)).commonTlsContext;
    assert.equal(ctx.tlsCertificateSdsSecretConfigs[0].name, 'default');
    assert.equal(ctx.combinedValidationContext.validationContextSdsSecretConfig.name, 'ROOTCA');
    const grpc = ctx.tlsCertificateSdsSecretConfigs[0].sdsConfig.apiConfigSource.grpcServices[0].googleGrpc;
    assert.equal(grpc.targetUri, 'unix:/var/run/sds/uds_path');
    assert.equal(grpc.statPrefix, 'sdsstat');
    assert.equal(ctx.tlsCertificates, undefined);
  });

  it('sets RANDOM on the 4 reviews clusters with destination-rule-reviews.yaml', () => {
    const { clusters } = bookinfo(['destination-rule-reviews.yaml']);
    const reviews = clusters.filter(
      (c) => c.name.endsWith(`|${host('reviews')}`) && c.name.startsWith('outbound'),
    );
    assert.deepEqual(
      reviews.map((c) => [c.name, c.lb_policy]),
      ['v1', 'v2', 'v3', ''].map((s) => [`outbound|9080|${s}|${host('reviews')}`, 'RANDOM']),
    );
    assert.equal(byName(clusters, `outbound|9080||${host('ratings')}`).lb_policy, undefined);
  });
});

describe('buildClusters: egress-rule-google-apis', () => {
  const { push, proxy, clusters } = bookinfo(['egress-rule-google-apis.yaml']);
  it('builds STRICT_DNS clusters with the host as endpoint', () => {
    for (const port of [80, 443]) {
      const c = byName(clusters, `outbound|${port}||www.googleapis.com`);
      assert.equal(c.type, 'STRICT_DNS');
      assert.equal(c.dns_lookup_family, 'V4_ONLY');
      const ep = c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
      assert.deepEqual(ep, { address: 'www.googleapis.com', port_value: port });
    }
    assert.ok(push.sidecarScope(proxy).services.some((s) => s.hostname === 'www.googleapis.com'));
  });
  it('originates SIMPLE TLS on 443 only, SNI = host', () => {
    const tls = tlsContextOf(byName(clusters, 'outbound|443||www.googleapis.com'));
    assert.equal(tls.sni, 'www.googleapis.com');
    assert.deepEqual(tls.commonTlsContext, {}, 'no CA given: no validation context');
    assert.equal(byName(clusters, 'outbound|80||www.googleapis.com').transport_socket, undefined);
    expectGolden(
      'cds-googleapis-443',
      toProtoJson(CLUSTER, byName(clusters, 'outbound|443||www.googleapis.com')),
    );
  });
});

describe('buildClusters: sidecar-ns-scope (node 100.1.1.2 in ns1)', () => {
  it('builds the 11 clusters of Istio lds_test', () => {
    const dir = sharedTestdata('tests', 'testdata', 'networking', 'sidecar-ns-scope');
    const store = loadStore([`${dir}/configs.yaml`], loadMesh(`${dir}/mesh.yaml`));
    const push = buildPushContext(store);
    const proxy = proxyFor(push, {
      id: 'sidecar~100.1.1.2~app.ns1~ns1.svc.cluster.local',
      metadata: { NAMESPACE: 'ns1' },
    });
    const clusters = clustersOf(push, proxy);
    // 5 outbound (ns1 http1/http2/tcp1 via `./*`, istio-system telemetry/policy), 2 http1 subsets
    // (v1, v2), 3 special (BlackHole, Passthrough, InboundPassthroughIpv4), 1 inbound (the node
    // backs http2.ns1 on 8080): 11. ns2 services are outside the root Sidecar's egress hosts.
    assert.deepEqual(
      clusters.map((c) => c.name),
      [
        'BlackHoleCluster',
        'InboundPassthroughClusterIpv4',
        'PassthroughCluster',
        'inbound|8080|http|http2.ns1.svc.cluster.local',
        'outbound|15004||istio-policy.istio-system.svc.cluster.local',
        'outbound|15004||istio-telemetry.istio-system.svc.cluster.local',
        'outbound|3306||tcp1.ns1.svc.cluster.local',
        'outbound|8080||http1.ns1.svc.cluster.local',
        'outbound|8080||http2.ns1.svc.cluster.local',
        'outbound|8080|v1|http1.ns1.svc.cluster.local',
        'outbound|8080|v2|http1.ns1.svc.cluster.local',
      ].sort(),
    );
    // The ns1 DR for http1 (no TLS) shadows the root `*.local` ISTIO_MUTUAL rule; http2 gets mTLS + h2 ALPN.
    assert.equal(byName(clusters, 'outbound|8080||http1.ns1.svc.cluster.local').transport_socket, undefined);
    const h2 = tlsContextOf(byName(clusters, 'outbound|8080||http2.ns1.svc.cluster.local'));
    assert.deepEqual(h2.commonTlsContext.alpnProtocols, ['istio', 'h2']);
    assert.ok(
      byName(clusters, 'outbound|8080||http2.ns1.svc.cluster.local').typed_extension_protocol_options,
    );
    expectGolden(
      'cds-sidecar-ns-scope',
      clusters.map((c) => toProtoJson(CLUSTER, c)),
    );
  });
});

describe('buildClusters: routers and proxyless gRPC', () => {
  const headless = toConfigEntry(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db', namespace: 'default' },
      spec: { clusterIP: 'None', ports: [{ name: 'tcp', port: 5432 }] },
    },
    100,
  );
  it('routers get BlackHole only, and headless services fall back to EDS', () => {
    const base = makeBookinfoMesh();
    const store = snapshotOf([...[...base.byKind.values()].flat(), headless]);
    const push = buildPushContext(store);
    const gw = proxyFor(push, routerNode({ ip: '10.40.1.1' }));
    const clusters = clustersOf(push, gw);
    assert.deepEqual(
      clusters.filter((c) => !c.name.startsWith('outbound|')).map((c) => c.name),
      ['BlackHoleCluster'],
    );
    assert.equal(byName(clusters, 'outbound|5432||db.default.svc.cluster.local').type, 'EDS');
    const sc = proxyFor(push, sidecarNode(podEntry(store, 'productpage-v1-0')));
    const db = byName(clustersOf(push, sc), 'outbound|5432||db.default.svc.cluster.local');
    assert.equal(db.type, 'ORIGINAL_DST');
    assert.equal(db.lb_policy, 'CLUSTER_PROVIDED');
  });
  it('proxyless gRPC gets EDS outbound clusters only', () => {
    const store = makeBookinfoMesh([bookinfoNetworking('egress-rule-google-apis.yaml')]);
    const push = buildPushContext(store);
    const proxy = proxyFor(push, grpcNode(podEntry(store, 'reviews-v1-0')));
    const clusters = clustersOf(push, proxy);
    assert.deepEqual(
      clusters.map((c) => c.name),
      BOOKINFO.map((s) => `outbound|9080||${host(s)}`),
    );
    assert.ok(clusters.every((c) => c.type === 'EDS'));
  });
});

describe('buildClusters: traffic policy', () => {
  const policyCases: Array<{ name: string; policy: Record<string, unknown>; check: (c: Cluster) => void }> = [
    {
      name: 'LEAST_CONN',
      policy: { loadBalancer: { simple: 'LEAST_CONN' } },
      check: (c) => assert.equal(c.lb_policy, 'LEAST_REQUEST'),
    },
    {
      name: 'PASSTHROUGH',
      policy: { loadBalancer: { simple: 'PASSTHROUGH' } },
      check: (c) => {
        assert.equal(c.type, 'ORIGINAL_DST');
        assert.equal(c.eds_cluster_config, undefined);
      },
    },
    {
      name: 'consistentHash',
      policy: { loadBalancer: { consistentHash: { httpHeaderName: 'x-user', minimumRingSize: 1024 } } },
      check: (c) => {
        assert.equal(c.lb_policy, 'RING_HASH');
        assert.equal(c.ring_hash_lb_config.minimum_ring_size.value, 1024);
      },
    },
    {
      name: 'connectionPool',
      policy: {
        connectionPool: {
          tcp: {
            maxConnections: 100,
            connectTimeout: '30ms',
            tcpKeepalive: { probes: 3, time: '7200s', interval: '75s' },
          },
          http: {
            http2MaxRequests: 1000,
            http1MaxPendingRequests: 10,
            maxRequestsPerConnection: 5,
            maxRetries: 3,
            idleTimeout: '1h',
          },
        },
      },
      check: (c) => {
        assert.deepEqual(c.circuit_breakers.thresholds[0], {
          max_connections: { value: 100 },
          max_pending_requests: { value: 10 },
          max_requests: { value: 1000 },
          max_retries: { value: 3 },
        });
        assert.deepEqual(c.connect_timeout, { seconds: 0, nanos: 30_000_000 });
        assert.deepEqual(c.upstream_connection_options.tcp_keepalive, {
          keepalive_probes: { value: 3 },
          keepalive_time: { value: 7200 },
          keepalive_interval: { value: 75 },
        });
        const opts = unpackHttpOptions(c);
        assert.deepEqual(opts.commonHttpProtocolOptions, {
          idleTimeout: '3600s',
          maxRequestsPerConnection: 5,
        });
      },
    },
    {
      name: 'outlierDetection',
      policy: {
        outlierDetection: {
          consecutiveErrors: 7,
          interval: '5m',
          baseEjectionTime: '15m',
          maxEjectionPercent: 50,
          minHealthPercent: 30,
        },
      },
      check: (c) => {
        const json = toProtoJson(CLUSTER, c) as Record<string, any>;
        assert.deepEqual(json.outlierDetection, {
          consecutiveGatewayFailure: 7,
          enforcingConsecutiveGatewayFailure: 100,
          enforcingConsecutive5xx: 0,
          interval: '300s',
          baseEjectionTime: '900s',
          maxEjectionPercent: 50,
        });
        assert.deepEqual(json.commonLbConfig, { healthyPanicThreshold: { value: 30 } });
      },
    },
    {
      name: 'portLevelSettings replace the top level for the port',
      policy: {
        loadBalancer: { simple: 'RANDOM' },
        portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { simple: 'LEAST_CONN' } }],
      },
      check: (c) => assert.equal(c.lb_policy, 'LEAST_REQUEST'),
    },
  ];
  for (const tc of policyCases) {
    it(tc.name, () => {
      const dr = toConfigEntry(
        {
          apiVersion: 'networking.istio.io/v1alpha3',
          kind: 'DestinationRule',
          metadata: { name: 'ratings', namespace: 'default' },
          spec: {
            host: 'ratings',
            trafficPolicy: tc.policy,
            subsets: [
              {
                name: 'v1',
                labels: { version: 'v1' },
                trafficPolicy: { loadBalancer: { simple: 'RANDOM' } },
              },
            ],
          },
        },
        1000,
      );
      const base = makeBookinfoMesh();
      const store = snapshotOf([...[...base.byKind.values()].flat(), dr]);
      const push = buildPushContext(store);
      const clusters = clustersOf(push, proxyFor(push, sidecarNode(podEntry(store, 'productpage-v1-0'))));
      tc.check(byName(clusters, `outbound|9080||${host('ratings')}`));
      assert.equal(
        byName(clusters, `outbound|9080|v1|${host('ratings')}`).lb_policy,
        'RANDOM',
        'subset policy overrides',
      );
    });
  }
});

function unpackHttpOptions(c: Cluster): Record<string, any> {
  const json = toProtoJson(CLUSTER, c) as Record<string, any>;
  const opts = json.typedExtensionProtocolOptions['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  assert.ok(opts, 'no HttpProtocolOptions');
  return opts;
}
