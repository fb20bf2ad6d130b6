import { defineFlags } from '@keel/runtime';

/** Galley's flags (env `KEEL_<NAME>`); Istio 1.4 defaults where one exists. */
export const galleyFlags = defineFlags({
  'config-dir': { type: 'string', help: 'Serve the YAML files under this directory (file mode)' },
  kubeconfig: {
    type: 'string',
    help: 'Read config from Kubernetes with this kubeconfig ("in-cluster" for the service account)',
  },
  'mesh-config': { type: 'string', help: 'MeshConfig YAML file (defaults apply when absent)' },
  host: { type: 'string', default: '0.0.0.0', help: 'Address to listen on' },
  'mcp-port': { type: 'number', default: 9901, help: 'MCP gRPC port' },
  'webhook-port': {
    type: 'number',
    default: 9443,
    help: 'Validating webhook HTTPS port (needs --tls-cert/--tls-key)',
  },
  'monitoring-port': {
    type: 'number',
    default: 15014,
    help: 'Monitoring port: /metrics /healthz /ready /version',
  },
  'cert-dir': {
    type: 'string',
    help: 'Serve MCP over mTLS with Citadel-issued cert-chain.pem, key.pem, root-cert.pem from here',
  },
  'trust-domain': {
    type: 'string',
    default: 'cluster.local',
    help: 'Trust domain of MCP clients under mTLS',
  },
  'tls-cert': { type: 'string', help: 'Webhook certificate (PEM), reloaded when it changes' },
  'tls-key': { type: 'string', help: 'Webhook private key (PEM), reloaded when it changes' },
  'ca-cert': {
    type: 'string',
    help: 'CA (PEM) written to the webhook caBundle with --kubeconfig; the serving chain when absent',
  },
  'webhook-config-name': {
    type: 'string',
    default: 'istio-galley',
    help: 'ValidatingWebhookConfiguration whose caBundle galley keeps current (with --kubeconfig)',
  },
  'nats-url': {
    type: 'string',
    env: 'KEEL_NATS_URL',
    help: 'NATS server for keel.events.* (off when empty)',
  },
  'debounce-quiet': { type: 'duration', default: '500ms', help: 'Snapshot quiet period' },
  'debounce-max': { type: 'duration', default: '1s', help: 'Longest delay before a snapshot' },
  'max-resource-size': {
    type: 'number',
    default: 1572864,
    help: 'Largest accepted resource in bytes (JSON); Kubernetes object limit (1.5 MiB) by default',
  },
  'max-resource-depth': {
    type: 'number',
    default: 32,
    help: 'Deepest accepted nesting of any field (free-form fields included)',
  },
  'rescan-interval': {
    type: 'duration',
    default: '30s',
    help: 'Full rescan of --config-dir as a backstop to file events (0 disables)',
  },
  'log-level': { type: 'string', default: 'info', help: 'Log level' },
});
