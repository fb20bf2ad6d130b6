import { defineFlags } from '@keel/runtime';

/** Pilot's flags (env `KEEL_<NAME>` unless named); Istio 1.4 ports and PILOT_* push knobs. */
export const pilotFlags = defineFlags({
  'mcp-address': { type: 'string', default: 'galley:9901', help: 'Galley MCP address host:port' },
  'grpc-port': { type: 'number', default: 15010, help: 'Plaintext xDS gRPC port (ADS, SotW and delta)' },
  'secure-grpc-port': {
    type: 'number',
    default: 15011,
    help: 'mTLS xDS port, served when --cert-dir holds Citadel-issued certificates',
  },
  'mesh-config': {
    type: 'string',
    help: 'MeshConfig YAML (the istio ConfigMap) read at start-up for controlPlaneSecurityEnabled: certificates from --cert-dir or /etc/certs',
  },
  'cert-dir': {
    type: 'string',
    help: 'cert-chain.pem, key.pem, root-cert.pem (istio.<sa> secret or pilot-agent --output-certs) for 15011',
  },
  'trust-domain': { type: 'string', default: 'cluster.local', help: 'Trust domain of clients on 15011' },
  'mcp-tls': {
    type: 'boolean',
    default: false,
    help: "Reach Galley's MCP over mTLS with the --cert-dir files",
  },
  'galley-identity': {
    type: 'string',
    help: 'SPIFFE id Galley must present under --mcp-tls (default .../ns/istio-system/sa/istio-galley-service-account)',
  },
  'http-port': { type: 'number', default: 8080, help: 'Debug HTTP port: /ready, /debug/*' },
  'monitoring-port': { type: 'number', default: 15014, help: 'Monitoring port: /metrics and /debug/*' },
  domain: { type: 'string', default: 'cluster.local', help: 'Kubernetes DNS domain' },
  host: { type: 'string', default: '0.0.0.0', help: 'Address to listen on' },
  'nats-url': { type: 'string', env: 'KEEL_NATS_URL', help: 'NATS server for xDS NACK events and status' },
  'debounce-after': {
    type: 'duration',
    env: 'PILOT_DEBOUNCE_AFTER',
    default: '100ms',
    help: 'Quiet time before a push',
  },
  'debounce-max': {
    type: 'duration',
    env: 'PILOT_DEBOUNCE_MAX',
    default: '10s',
    help: 'Longest delay before a push',
  },
  'push-throttle': {
    type: 'number',
    env: 'PILOT_PUSH_THROTTLE',
    default: 100,
    help: 'Proxies a push has responses in flight to at once',
  },
  'send-timeout': { type: 'duration', default: '5s', help: 'Close a stream whose response does not drain' },
  'pod-name': { type: 'string', env: 'POD_NAME', help: 'Replica id in events (default hostname-pid)' },
  'mcp-reconnect-max': {
    type: 'duration',
    default: '2s',
    help: 'Longest (jittered) delay between MCP reconnect attempts to Galley',
  },
  'mcp-max-message-size': {
    type: 'number',
    default: 64 * 1024 * 1024,
    help: 'Largest MCP response accepted, bytes (a whole collection; Galley caps each resource at 1.5 MiB)',
  },
  'log-level': { type: 'string', default: 'info', help: 'Log level' },
});
