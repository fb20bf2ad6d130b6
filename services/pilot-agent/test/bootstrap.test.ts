import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesToProtoJson, encodeMessage, findUnknownFields, lookupType, toProtoJson } from '@keel/proto';
import {
  applyBootstrapOverride,
  buildBootstrap,
  buildGrpcBootstrap,
  buildNode,
  envoyArgs,
  metadataFromEnv,
  type ProxyNode,
} from '../src/index.js';

const node = (): ProxyNode => {
  const r = buildNode({
    type: 'sidecar',
    ip: '10.1.2.3',
    serviceCluster: 'reviews.bookinfo',
    hostIps: ['10.1.2.3', '192.168.0.9'],
    sds: true,
    env: {
      POD_NAME: 'reviews-v1-abc',
      POD_NAMESPACE: 'bookinfo',
      SERVICE_ACCOUNT: 'bookinfo-reviews',
      ISTIO_META_CLUSTER_ID: 'Kubernetes',
      ISTIO_METAJSON_LABELS: '{"app":"reviews","version":"v1"}',
      ISTIO_META_INTERCEPTION_MODE: 'REDIRECT',
    },
  });
  assert.ok(r.ok);
  return r.value;
};

const base = {
  discoveryAddress: 'istio-pilot.istio-system:15011',
  controlPlaneAuthPolicy: 'MUTUAL_TLS' as const,
  pilotSan: 'spiffe://cluster.local/ns/istio-system/sa/istio-pilot-service-account',
  sdsUdsPath: '/var/run/sds/uds_path',
  adminPort: 15000,
  statsPort: 15090,
  connectTimeoutMs: 1000,
  dnsRefreshRateMs: 300_000,
};

describe('node identity', () => {
  it('is <type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local with ISTIO_META_* metadata', () => {
    const n = node();
    assert.equal(n.id, 'sidecar~10.1.2.3~reviews-v1-abc.bookinfo~bookinfo.svc.cluster.local');
    assert.deepEqual(n.metadata.LABELS, { app: 'reviews', version: 'v1' });
    assert.equal(n.metadata.INSTANCE_IPS, '10.1.2.3,192.168.0.9');
    assert.equal(n.metadata.CLUSTER_ID, 'Kubernetes');
    assert.equal(n.metadata.SERVICE_ACCOUNT, 'bookinfo-reviews');
    assert.equal(n.metadata.SDS, 'true');
  });
  it('names a bad ISTIO_METAJSON_ value', () => {
    assert.deepEqual(metadataFromEnv({ ISTIO_METAJSON_LABELS: '{bad' }), {
      ok: false,
      errors: ['ISTIO_METAJSON_LABELS is not valid JSON'],
    });
  });
});

describe('Envoy bootstrap v3', () => {
  it("encodes with Envoy's Bootstrap proto without loss, mTLS to Pilot checked by SPIFFE id", () => {
    const b = buildBootstrap({
      ...base,
      node: node(),
      zipkinAddress: 'zipkin.istio-system:9411',
      statsdUdpAddress: '10.0.0.5:8125',
      envoyAccessLogService: 'istio-telemetry.istio-system:9091',
    });
    assert.deepEqual(findUnknownFields('envoy.config.bootstrap.v3.Bootstrap', b), []);
    const Bootstrap = lookupType('envoy.config.bootstrap.v3.Bootstrap');
    assert.equal(Bootstrap.verify(Bootstrap.fromObject(b)), null);
    const json = bytesToProtoJson(
      'envoy.config.bootstrap.v3.Bootstrap',
      encodeMessage('envoy.config.bootstrap.v3.Bootstrap', b),
    ) as any;
    assert.equal(json.node.id, 'sidecar~10.1.2.3~reviews-v1-abc.bookinfo~bookinfo.svc.cluster.local');
    assert.equal(json.node.cluster, 'reviews.bookinfo');
    assert.deepEqual(json.node.metadata.LABELS, { app: 'reviews', version: 'v1' });
    assert.deepEqual(json.admin.address.socketAddress, { address: '127.0.0.1', portValue: 15000 });
    assert.equal(json.dynamicResources.adsConfig.grpcServices[0].envoyGrpc.clusterName, 'xds-grpc');
    const clusters = Object.fromEntries(json.staticResources.clusters.map((c: any) => [c.name, c]));
    assert.deepEqual(Object.keys(clusters).sort(), [
      'envoy_accesslog_service',
      'prometheus_stats',
      'sds-grpc',
      'xds-grpc',
      'zipkin',
    ]);
    const xds = clusters['xds-grpc'];
    assert.equal(xds.type, 'STRICT_DNS');
    assert.equal(xds.connectTimeout, '1s');
    assert.equal(
      xds.loadAssignment.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.portValue,
      15011,
    );
    const tls = xds.transportSocket.typedConfig;
    assert.equal(
      tls['@type'],
      'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    );
    assert.deepEqual(tls.commonTlsContext.alpnProtocols, ['h2']);
    assert.equal(tls.commonTlsContext.tlsCertificateSdsSecretConfigs[0].name, 'default');
    const vc = tls.commonTlsContext.combinedValidationContext;
    assert.equal(vc.validationContextSdsSecretConfig.name, 'ROOTCA');
    assert.deepEqual(vc.defaultValidationContext.matchTypedSubjectAltNames, [
      { sanType: 'URI', matcher: { exact: base.pilotSan } },
    ]);
    assert.equal(
      clusters['sds-grpc'].loadAssignment.endpoints[0].lbEndpoints[0].endpoint.address.pipe.path,
      '/var/run/sds/uds_path',
    );
    const listener = json.staticResources.listeners[0];
    assert.equal(listener.address.socketAddress.portValue, 15090);
    assert.equal(json.tracing.http.name, 'envoy.tracers.zipkin');
    assert.equal(json.statsSinks[0].name, 'envoy.stat_sinks.statsd');
  });

  it('plain 15010 has no transport socket; an IP address is a STATIC cluster', () => {
    const b = buildBootstrap({
      ...base,
      controlPlaneAuthPolicy: 'NONE',
      discoveryAddress: '10.0.0.1:15010',
      node: node(),
      otlpAddress: 'otel:4317',
    });
    assert.deepEqual(findUnknownFields('envoy.config.bootstrap.v3.Bootstrap', b), []);
    const clusters = (b.static_resources as any).clusters;
    assert.equal(clusters[0].type, 'STATIC');
    assert.equal(clusters[0].transport_socket, undefined);
    assert.equal((b.tracing as any).http.name, 'envoy.tracers.opentelemetry');
    assert.throws(
      () => buildBootstrap({ ...base, discoveryAddress: 'nope', node: node() }),
      /discoveryAddress: 'nope' is not host:port/,
    );
  });

  it("Envoy's command line follows Istio's", () => {
    const args = envoyArgs(
      {
        binaryPath: 'envoy',
        configFile: async () => '',
        serviceCluster: 'reviews.bookinfo',
        serviceNode: 'sidecar~1~2~3',
        drainDurationMs: 45_000,
        parentShutdownDurationMs: 60_000,
        logLevel: 'warning',
        componentLogLevel: 'misc:error',
        concurrency: 2,
        adminPort: 15000,
        ipv6: false,
        logger: undefined as never,
      },
      '/etc/istio/proxy/envoy-rev1.json',
      1,
    );
    assert.equal(
      args.join(' '),
      '-c /etc/istio/proxy/envoy-rev1.json --restart-epoch 1 --drain-time-s 45 --parent-shutdown-time-s 60 --service-cluster reviews.bookinfo --service-node sidecar~1~2~3 --max-obj-name-len 189 --local-address-ip-version v4 --log-format [Envoy (Epoch 1)] [%Y-%m-%d %T.%e][%t][%l][%n] %v -l warning --component-log-level misc:error --concurrency 2',
    );
  });
});

describe('ISTIO_BOOTSTRAP_OVERRIDE', () => {
  it('merges into the generated bootstrap (repeated fields append) and refuses unknown fields', () => {
    const generated = toProtoJson(
      'envoy.config.bootstrap.v3.Bootstrap',
      buildBootstrap({ ...base, node: node() }),
    ) as any;
    const extra = {
      staticResources: { clusters: [{ name: 'extra', connectTimeout: '2s', type: 'STATIC' }] },
      admin: { address: { socketAddress: { portValue: 15001 } } },
    };
    const merged = applyBootstrapOverride(generated, JSON.stringify(extra));
    assert.ok(merged.ok);
    const value = merged.value as any;
    assert.equal(value.staticResources.clusters.length, generated.staticResources.clusters.length + 1);
    assert.deepEqual(value.admin.address.socketAddress, { address: '127.0.0.1', portValue: 15001 });
    assert.deepEqual(applyBootstrapOverride(generated, '{"admin":{"nope":1}}'), {
      ok: false,
      errors: ['bootstrap override: Bootstrap.admin.nope: no such field in envoy.config.bootstrap.v3.Admin'],
    });
    assert.equal(applyBootstrapOverride(generated, '{oops').ok, false);
  });
});

describe('gRPC xDS bootstrap', () => {
  it('carries the server, the node with GENERATOR grpc, file_watcher providers and the listener template', () => {
    const b = buildGrpcBootstrap({
      node: node(),
      discoveryAddress: '127.0.0.1:15010',
      certDir: '/etc/certs',
    }) as any;
    assert.deepEqual(b.xds_servers, [
      { server_uri: '127.0.0.1:15010', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
    ]);
    assert.equal(b.node.metadata.GENERATOR, 'grpc');
    assert.equal(b.server_listener_resource_name_template, 'xds.istio.io/grpc/lds/inbound/%s');
    assert.deepEqual(b.certificate_providers.default, {
      plugin_name: 'file_watcher',
      config: {
        certificate_file: '/etc/certs/cert-chain.pem',
        private_key_file: '/etc/certs/key.pem',
        ca_certificate_file: '/etc/certs/root-cert.pem',
        refresh_interval: '300s',
      },
    });
  });
});
