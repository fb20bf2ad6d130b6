import { defineFlags } from '@keel/runtime';

/**
 * pilot-agent's flags: Istio 1.4's names (camelCase, as the injector writes them, spec sections 5.3
 * and 6) plus Keel's additions for proxyless gRPC (--output-certs, --grpc-bootstrap). Positional
 * `proxy sidecar|router` is read by main before these.
 */
export const agentFlags = defineFlags({
  domain: { type: 'string', help: 'DNS domain suffix (default <POD_NAMESPACE>.svc.cluster.local)' },
  id: { type: 'string', help: 'Proxy id (default POD_NAME.POD_NAMESPACE)' },
  ip: { type: 'string', env: 'INSTANCE_IP', help: 'Proxy IP (first in the node id)' },
  configPath: { type: 'string', default: '/etc/istio/proxy', help: 'Where envoy-rev<N>.json is written' },
  binaryPath: {
    type: 'string',
    default: '/usr/local/bin/envoy',
    help: 'Envoy binary; started when it exists',
  },
  serviceCluster: { type: 'string', default: 'istio-proxy', help: 'node.cluster' },
  drainDuration: { type: 'duration', default: '45s', help: 'Envoy --drain-time-s' },
  parentShutdownDuration: { type: 'duration', default: '60s', help: 'Envoy --parent-shutdown-time-s' },
  discoveryAddress: { type: 'string', default: 'istio-pilot:15010', help: 'Pilot xDS address host:port' },
  controlPlaneAuthPolicy: {
    type: 'string',
    default: 'NONE',
    help: 'NONE or MUTUAL_TLS (xDS to Pilot over mTLS)',
  },
  pilotIdentity: {
    type: 'string',
    help: 'SPIFFE id Pilot must present (default .../sa/istio-pilot-service-account)',
  },
  mixerIdentity: { type: 'string', help: 'SPIFFE id the mixers must present' },
  'trust-domain': {
    type: 'string',
    env: 'TRUST_DOMAIN',
    default: 'cluster.local',
    help: 'SPIFFE trust domain',
  },
  zipkinAddress: { type: 'string', help: 'Zipkin collector host:port (tracing)' },
  otlpAddress: { type: 'string', help: 'OpenTelemetry collector host:port (OTLP gRPC tracing)' },
  statsdUdpAddress: { type: 'string', help: 'statsd sink host:port' },
  envoyMetricsService: { type: 'string', help: 'Envoy metrics service host:port' },
  envoyAccessLogService: {
    type: 'string',
    help: 'Envoy access log service host:port (cluster envoy_accesslog_service)',
  },
  proxyAdminPort: { type: 'number', default: 15000, help: 'Envoy admin port (127.0.0.1)' },
  statsPort: { type: 'number', default: 15090, help: 'Envoy Prometheus listener port' },
  concurrency: { type: 'number', default: 0, help: 'Envoy worker threads (0: Envoy decides)' },
  connectTimeout: { type: 'duration', default: '1s', help: 'Connect timeout of the bootstrap clusters' },
  dnsRefreshRate: { type: 'duration', default: '300s', help: 'DNS refresh rate of the xds-grpc cluster' },
  proxyLogLevel: { type: 'string', default: 'warning', help: 'Envoy log level' },
  proxyComponentLogLevel: { type: 'string', default: 'misc:error', help: 'Envoy component log levels' },
  statusPort: { type: 'number', default: 15020, help: 'Status server port (0 disables it)' },
  applicationPorts: {
    type: 'list',
    help: 'Ports the application serves (routers wait for listeners on them)',
  },
  'status-host': { type: 'string', default: '0.0.0.0', help: 'Status server listen address' },
  'ca-address': { type: 'string', env: 'CA_ADDR', default: 'istio-citadel:8060', help: 'Citadel host:port' },
  'ca-root-cert': {
    type: 'string',
    default: '/var/run/secrets/istio/root-cert.pem',
    help: 'PEM roots that verify Citadel (the istio-security ConfigMap, or Citadel root-cert.pem locally)',
  },
  'token-path': {
    type: 'string',
    env: 'SDS_TOKEN_PATH',
    default: '/var/run/secrets/tokens/istio-token',
    help: 'Service-account JWT (or local token) sent to Citadel as Bearer',
  },
  'sds-uds-path': {
    type: 'string',
    env: 'SDS_UDS_PATH',
    default: 'unix:/var/run/sds/uds_path',
    help: 'SDS Unix socket',
  },
  'secret-ttl': {
    type: 'duration',
    env: 'SECRET_TTL',
    default: '24h',
    help: 'Workload certificate lifetime asked of Citadel',
  },
  'secret-grace-ratio': {
    type: 'number',
    env: 'SECRET_GRACE_RATIO',
    default: 0.5,
    help: 'Renew when this fraction of the certificate lifetime is left',
  },
  'key-algorithm': { type: 'string', default: 'RSA', help: 'Workload key: RSA (2048) or ECDSA (P-256)' },
  'output-certs': {
    type: 'string',
    help: 'Also write cert-chain.pem, key.pem, root-cert.pem here (atomic renewals)',
  },
  'grpc-bootstrap': { type: 'string', help: 'Write a gRPC xDS bootstrap here for proxyless gRPC' },
  'termination-drain-duration': {
    type: 'number',
    env: 'TERMINATION_DRAIN_DURATION_SECONDS',
    default: 5,
    help: 'Seconds of draining on SIGTERM before Envoy is stopped',
  },
  'log-level': { type: 'string', default: 'info', help: 'Log level' },
});
