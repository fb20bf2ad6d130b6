// Envoy's v3 bootstrap for a sidecar or gateway (spec section 6), built as a protobufjs object of
// envoy.config.bootstrap.v3.Bootstrap; main writes its canonical proto3 JSON for Envoy to read.
import { jsonToStruct, typed } from '@keel/proto';
import type { ProxyNode } from './node.js';

export interface BootstrapOptions {
  node: ProxyNode;
  /** Pilot `host:port`. */
  discoveryAddress: string;
  controlPlaneAuthPolicy: 'NONE' | 'MUTUAL_TLS';
  /** SPIFFE id Pilot must present under MUTUAL_TLS. */
  pilotSan: string;
  /** SDS socket path (without `unix:`). */
  sdsUdsPath: string;
  adminPort: number;
  statsPort: number;
  connectTimeoutMs: number;
  dnsRefreshRateMs: number;
  zipkinAddress?: string;
  otlpAddress?: string;
  statsdUdpAddress?: string;
  envoyMetricsService?: string;
  envoyAccessLogService?: string;
}

export const XDS_CLUSTER = 'xds-grpc';
export const SDS_CLUSTER = 'sds-grpc';
export const ACCESS_LOG_CLUSTER = 'envoy_accesslog_service';
export const METRICS_CLUSTER = 'envoy_metrics_service';

const duration = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** Splits `host:port` (IPv6 in brackets); throws naming the bad value. */
export function hostPort(address: string, what: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`${what}: '${address}' is not host:port`);
  return { host: m[1]!, port };
}

const http2Options = () => ({
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed(
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    { explicit_http_config: { http2_protocol_options: {} } },
  ),
});

function socketCluster(name: string, address: string, connectTimeoutMs: number, h2: boolean, dns = false) {
  const { host, port } = hostPort(address, name);
  return {
    name,
    type: dns ? 'STRICT_DNS' : 'STATIC',
    connect_timeout: duration(connectTimeoutMs),
    ...(h2 ? { typed_extension_protocol_options: http2Options() } : {}),
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }],
        },
      ],
    },
  };
}

const isIp = (h: string) => /^[\d.]+$/.test(h) || h.includes(':');

/** The SDS config source pointing at the agent's socket through the static `sds-grpc` cluster. */
export function sdsConfig() {
  return {
    api_config_source: {
      api_type: 'GRPC',
      transport_api_version: 'V3',
      grpc_services: [{ envoy_grpc: { cluster_name: SDS_CLUSTER } }],
    },
    resource_api_version: 'V3',
  };
}

function xdsCluster(o: BootstrapOptions) {
  const { host } = hostPort(o.discoveryAddress, 'discoveryAddress');
  const c: Record<string, unknown> = {
    ...socketCluster(XDS_CLUSTER, o.discoveryAddress, o.connectTimeoutMs, true, !isIp(host)),
    ...(isIp(host) ? {} : { dns_refresh_rate: duration(o.dnsRefreshRateMs), respect_dns_ttl: true }),
    lb_policy: 'ROUND_ROBIN',
    upstream_connection_options: { tcp_keepalive: { keepalive_time: { value: 300 } } },
    circuit_breakers: {
      thresholds: ['DEFAULT', 'HIGH'].map((priority) => ({
        priority,
        max_connections: { value: 100000 },
        max_pending_requests: { value: 100000 },
        max_requests: { value: 100000 },
      })),
    },
  };
  if (o.controlPlaneAuthPolicy === 'MUTUAL_TLS') {
    c.transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: typed('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
        common_tls_context: {
          alpn_protocols: ['h2'],
          tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: sdsConfig() }],
          combined_validation_context: {
            default_validation_context: {
              match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: o.pilotSan } }],
            },
            validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: sdsConfig() },
          },
        },
      }),
    };
  }
  return c;
}

function statsListener(o: BootstrapOptions) {
  return {
    name: 'prometheus_stats',
    address: { socket_address: { address: '0.0.0.0', port_value: o.statsPort } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: typed(
              'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              {
                stat_prefix: 'stats',
                codec_type: 'AUTO',
                route_config: {
                  virtual_hosts: [
                    {
                      name: 'backend',
                      domains: ['*'],
                      routes: [
                        { match: { prefix: '/stats/prometheus' }, route: { cluster: 'prometheus_stats' } },
                      ],
                    },
                  ],
                },
                http_filters: [
                  {
                    name: 'envoy.filters.http.router',
                    typed_config: typed('envoy.extensions.filters.http.router.v3.Router', {}),
                  },
                ],
              },
            ),
          },
        ],
      },
    ],
  };
}

function tracing(o: BootstrapOptions) {
  if (o.zipkinAddress)
    return {
      http: {
        name: 'envoy.tracers.zipkin',
        typed_config: typed('envoy.config.trace.v3.ZipkinConfig', {
          collector_cluster: 'zipkin',
          collector_endpoint: '/api/v2/spans',
          collector_endpoint_version: 'HTTP_JSON',
          trace_id_128bit: true,
          shared_span_context: { value: false },
        }),
      },
    };
  if (o.otlpAddress)
    return {
      http: {
        name: 'envoy.tracers.opentelemetry',
        typed_config: typed('envoy.config.trace.v3.OpenTelemetryConfig', {
          grpc_service: { envoy_grpc: { cluster_name: 'opentelemetry' } },
          service_name: o.node.cluster,
        }),
      },
    };
  return undefined;
}

/** The bootstrap as a protobufjs object of envoy.config.bootstrap.v3.Bootstrap. */
export function buildBootstrap(o: BootstrapOptions): Record<string, unknown> {
  const ct = o.connectTimeoutMs;
  const clusters: Record<string, unknown>[] = [
    xdsCluster(o),
    {
      name: SDS_CLUSTER,
      type: 'STATIC',
      connect_timeout: duration(ct),
      typed_extension_protocol_options: http2Options(),
      load_assignment: {
        cluster_name: SDS_CLUSTER,
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: o.sdsUdsPath } } } }] }],
      },
    },
    socketCluster('prometheus_stats', `127.0.0.1:${o.adminPort}`, ct, false),
  ];
  if (o.zipkinAddress) clusters.push(socketCluster('zipkin', o.zipkinAddress, ct, false, true));
  if (o.otlpAddress) clusters.push(socketCluster('opentelemetry', o.otlpAddress, ct, true, true));
  if (o.envoyAccessLogService)
    clusters.push(socketCluster(ACCESS_LOG_CLUSTER, o.envoyAccessLogService, ct, true, true));
  if (o.envoyMetricsService)
    clusters.push(socketCluster(METRICS_CLUSTER, o.envoyMetricsService, ct, true, true));
  const sinks: Record<string, unknown>[] = [];
  if (o.statsdUdpAddress) {
    const { host, port } = hostPort(o.statsdUdpAddress, 'statsdUdpAddress');
    sinks.push({
      name: 'envoy.stat_sinks.statsd',
      typed_config: typed('envoy.config.metrics.v3.StatsdSink', {
        address: { socket_address: { protocol: 'UDP', address: host, port_value: port } },
      }),
    });
  }
  if (o.envoyMetricsService)
    sinks.push({
      name: 'envoy.stat_sinks.metrics_service',
      typed_config: typed('envoy.config.metrics.v3.MetricsServiceConfig', {
        transport_api_version: 'V3',
        grpc_service: { envoy_grpc: { cluster_name: METRICS_CLUSTER } },
      }),
    });
  const trace = tracing(o);
  return {
    node: { id: o.node.id, cluster: o.node.cluster, metadata: jsonToStruct(o.node.metadata) },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: o.adminPort } } },
    dynamic_resources: {
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER } }],
        set_node_on_first_message_only: true,
      },
    },
    static_resources: { clusters, listeners: [statsListener(o)] },
    ...(trace ? { tracing: trace } : {}),
    ...(sinks.length ? { stats_sinks: sinks } : {}),
  };
}
