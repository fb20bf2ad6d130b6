import { defineFlags } from '@keel/runtime';

/** mixer-telemetry flags (env `KEEL_<NAME>`); Istio 1.4 ports: 9091 gRPC, 42422 prometheus, 15014 monitoring. */
export const telemetryFlags = defineFlags({
  'mcp-address': { type: 'string', default: 'galley:9901', help: 'Galley MCP address host:port' },
  'grpc-port': {
    type: 'number',
    default: 9091,
    help: 'gRPC port: envoy AccessLogService (StreamAccessLogs) and istio.mixer.v1.Mixer/Report',
  },
  'secure-grpc-port': {
    type: 'number',
    default: 15004,
    help: 'mTLS gRPC port (AccessLogService and Mixer/Report), served when --cert-dir holds Citadel-issued certificates',
  },
  'mcp-tls': {
    type: 'boolean',
    default: false,
    help: "Reach Galley's MCP over mTLS with the --cert-dir files (on when the mesh config turns control-plane security on)",
  },
  'galley-identity': {
    type: 'string',
    help: 'SPIFFE id Galley must present under --mcp-tls (default .../ns/istio-system/sa/istio-galley-service-account)',
  },
  'mesh-config': {
    type: 'string',
    help: 'MeshConfig YAML (the istio ConfigMap) read at start-up for controlPlaneSecurityEnabled: certificates from --cert-dir or /etc/certs',
  },
  'cert-dir': {
    type: 'string',
    help: 'cert-chain.pem, key.pem, root-cert.pem (istio.<sa> secret or pilot-agent --output-certs) for 15004',
  },
  'trust-domain': { type: 'string', default: 'cluster.local', help: 'Trust domain of clients on 15004' },
  'metrics-port': {
    type: 'number',
    default: 42422,
    help: 'Prometheus adapter port (/metrics with istio_* series)',
  },
  'monitoring-port': {
    type: 'number',
    default: 15014,
    help: 'Monitoring port: /metrics /healthz /ready /version',
  },
  host: { type: 'string', default: '0.0.0.0', help: 'Address to listen on' },
  domain: { type: 'string', default: 'cluster.local', help: 'Kubernetes DNS domain' },
  'config-default-namespace': {
    type: 'string',
    default: 'istio-system',
    help: 'Rules in this namespace apply to every namespace',
  },
  'max-message-size': { type: 'number', default: 1048576, help: 'Largest gRPC message accepted, bytes' },
  'nats-url': {
    type: 'string',
    env: 'KEEL_NATS_URL',
    help: 'NATS server for the natslog adapter (JetStream KEEL_ACCESSLOG)',
  },
  'log-level': { type: 'string', default: 'info', help: 'Log level' },
});
