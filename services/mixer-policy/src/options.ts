import { defineFlags } from '@keel/runtime';

/** mixer-policy's flags (env `KEEL_<NAME>` unless named); Istio 1.4 ports and defaults. */
export const mixerPolicyFlags = defineFlags({
  'mcp-address': { type: 'string', default: 'galley:9901', help: 'Galley MCP address host:port' },
  'grpc-port': {
    type: 'number',
    default: 9091,
    help: 'gRPC port: envoy.service.auth.v3.Authorization/Check and istio.mixer.v1.Mixer/Check',
  },
  'secure-grpc-port': {
    type: 'number',
    default: 15004,
    help: 'mTLS gRPC port (both Check APIs), served when --cert-dir holds Citadel-issued certificates',
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
  'monitoring-port': {
    type: 'number',
    default: 15014,
    help: 'Monitoring port: /metrics /healthz /ready /version /debug',
  },
  host: { type: 'string', default: '0.0.0.0', help: 'Address to listen on' },
  domain: { type: 'string', default: 'cluster.local', help: 'Kubernetes DNS domain' },
  'config-default-namespace': {
    type: 'string',
    default: 'istio-system',
    help: 'Namespace whose rules apply to every namespace',
  },
  'nats-url': {
    type: 'string',
    env: 'KEEL_NATS_URL',
    help: 'NATS server: shared quota (KV) and denial events',
  },
  'check-cache-entries': { type: 'number', default: 100000, help: 'Decision cache entries' },
  'denied-events-per-second': { type: 'number', default: 5, help: 'Sampled keel.events.policy.denied rate' },
  'pod-name': { type: 'string', env: 'POD_NAME', help: 'Replica id in events (default hostname-pid)' },
  'log-level': { type: 'string', default: 'info', help: 'Log level' },
});
