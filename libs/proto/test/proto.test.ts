import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  findUnknownFields,
  grpcPackage,
  lookupType,
  packAny,
  packStruct,
  serviceDefinition,
  TypeUrl,
  toProtoJson,
  typed,
  unpackAny,
  unpackStruct,
} from '../src/index.js';

describe('proto roots', () => {
  it('loads every xDS resource type from @grpc/grpc-js-xds', () => {
    for (const url of Object.values(TypeUrl)) assert.ok(lookupType(url.slice(url.indexOf('/') + 1)));
  });

  it('exposes the MCP and ADS services through proto-loader', () => {
    assert.ok(grpcPackage());
    const mcp = serviceDefinition('istio.mcp.v1alpha1.ResourceSource');
    assert.equal(
      mcp.EstablishResourceStream?.path,
      '/istio.mcp.v1alpha1.ResourceSource/EstablishResourceStream',
    );
    const ads = serviceDefinition('envoy.service.discovery.v3.AggregatedDiscoveryService');
    assert.ok(ads.StreamAggregatedResources?.requestStream);
    assert.throws(() => serviceDefinition('no.such.Service'), /unknown gRPC service/);
  });
});

describe('Any and proto-JSON', () => {
  const cluster = {
    name: 'outbound|9080||reviews.default.svc.cluster.local',
    type: 'EDS',
    eds_cluster_config: {
      service_name: 'outbound|9080||reviews.default.svc.cluster.local',
      eds_config: { ads: {} },
    },
    connect_timeout: { seconds: 1, nanos: 500_000_000 },
    lb_policy: 'RANDOM',
    circuit_breakers: { thresholds: [{ max_connections: { value: 4294967295 } }] },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed(
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        {
          explicit_http_config: { http2_protocol_options: {} },
        },
      ),
    },
  };

  it('packs and unpacks a cluster with nested typed Any', () => {
    const any = packAny(TypeUrl.Cluster, cluster);
    const back = unpackAny(any) as Record<string, unknown>;
    assert.equal(back.name, cluster.name);
    assert.equal(back.lb_policy, 'RANDOM');
  });

  it('renders canonical proto3 JSON: camelCase, durations, wrappers, expanded Any', () => {
    const json = toProtoJson('envoy.config.cluster.v3.Cluster', cluster) as Record<string, any>;
    assert.equal(json.connectTimeout, '1.500s');
    assert.equal(json.lbPolicy, 'RANDOM');
    assert.equal(json.edsClusterConfig.serviceName, cluster.name);
    assert.deepEqual(json.edsClusterConfig.edsConfig, { ads: {} });
    assert.equal(json.circuitBreakers.thresholds[0].maxConnections, 4294967295);
    const opts = json.typedExtensionProtocolOptions['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    assert.equal(opts['@type'], 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
    assert.deepEqual(opts.explicitHttpConfig, { http2ProtocolOptions: {} });
  });

  it('finds keys the type does not have, including inside typed Any', () => {
    assert.deepEqual(findUnknownFields('envoy.config.cluster.v3.Cluster', cluster), []);
    const bad = {
      ...cluster,
      lbPolicy: 'RANDOM',
      typed_extension_protocol_options: {
        x: typed('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', { nope: 1 }),
      },
    };
    const errors = findUnknownFields('envoy.config.cluster.v3.Cluster', bad).sort();
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.match(errors[0]!, /lbPolicy/);
    assert.match(errors[1]!, /nope/);
    assert.match(
      findUnknownFields('envoy.config.cluster.v3.Cluster', { lb_policy: 'NOPE' })[0]!,
      /not a value/,
    );
  });

  it('round-trips plain JSON through a Struct Any (MCP bodies)', () => {
    const body = {
      hosts: ['reviews'],
      http: [{ route: [{ destination: { host: 'reviews', port: { number: 9080 } }, weight: 50 }] }],
      flag: true,
      none: null,
    };
    assert.deepEqual(unpackStruct(packStruct(body)), body);
  });
});
