import { defineFlags } from '@keel/runtime';

/** Citadel's flags (env `KEEL_<NAME>` unless named); Istio 1.4 names and defaults (spec section 3). */
export const citadelFlags = defineFlags({
  'grpc-port': { type: 'number', default: 8060, help: 'CA gRPC port (IstioCertificateService, TLS)' },
  'monitoring-port': {
    type: 'number',
    default: 15014,
    help: 'Monitoring port: /metrics /healthz /ready /version',
  },
  host: { type: 'string', default: '0.0.0.0', help: 'Address to listen on' },
  'trust-domain': { type: 'string', default: 'cluster.local', help: 'SPIFFE trust domain' },
  'ca-dir': {
    type: 'string',
    help: 'Local mode: keep the self-signed CA here (ca-cert.pem, ca-key.pem 0600, root-cert.pem)',
  },
  kubeconfig: {
    type: 'string',
    help: 'Kubernetes mode: kubeconfig file ("in-cluster" for the service account)',
  },
  'citadel-storage-namespace': {
    type: 'string',
    default: 'istio-system',
    help: 'Namespace of the istio-ca-secret Secret, the istio-security ConfigMap and the Lease',
  },
  'self-signed-ca': { type: 'boolean', default: true, help: 'Generate (and keep) a self-signed root' },
  'signing-cert': { type: 'string', help: 'Plugged-in CA certificate (ca-cert.pem)' },
  'signing-key': { type: 'string', help: 'Plugged-in CA key (ca-key.pem)' },
  'root-cert': { type: 'string', help: 'Plugged-in root certificate (root-cert.pem)' },
  'cert-chain': {
    type: 'string',
    help: 'Plugged-in chain from the CA certificate to the root (cert-chain.pem)',
  },
  'key-algorithm': { type: 'string', default: 'RSA', help: 'Self-signed CA key type: RSA or ECDSA (P-256)' },
  'key-size': { type: 'number', default: 2048, help: 'RSA key size of the self-signed CA' },
  'self-signed-ca-cert-ttl': {
    type: 'duration',
    default: '87600h',
    help: 'Lifetime of the self-signed root',
  },
  'workload-cert-ttl': { type: 'duration', default: '2160h', help: 'Default workload certificate lifetime' },
  'max-workload-cert-ttl': {
    type: 'duration',
    default: '2160h',
    help: 'Longest workload certificate lifetime',
  },
  'workload-cert-grace-period-ratio': {
    type: 'number',
    default: 0.5,
    help: 'Secret controller: reissue when this fraction of the lifetime is left',
  },
  'workload-cert-min-grace-period': { type: 'duration', default: '10m', help: 'Smallest grace period' },
  'root-cert-check-interval': {
    type: 'duration',
    default: '1h',
    help: 'How often the root expiry is checked',
  },
  'root-cert-grace-period-ratio': {
    type: 'number',
    default: 0.2,
    help: 'Rotate the self-signed root when this fraction of its lifetime is left',
  },
  'token-file': {
    type: 'string',
    help: 'Local mode: bearer tokens, one "TOKEN NAMESPACE SERVICEACCOUNT" per line',
  },
  'sds-enabled': {
    type: 'boolean',
    default: true,
    help: 'Kubernetes mode: accept service-account JWTs checked with TokenReview',
  },
  'server-only': {
    type: 'boolean',
    default: false,
    help: 'Kubernetes mode: do not run the secret controller',
  },
  'enable-namespaces-by-default': {
    type: 'boolean',
    env: 'CITADEL_ENABLE_NAMESPACES_BY_DEFAULT',
    default: true,
    help: 'Secret controller: manage namespaces without a ca.istio.io label',
  },
  'custom-dns-names': {
    type: 'list',
    default: ['istio-pilot-service-account.istio-system:istio-pilot.istio-system'],
    help: 'Extra DNS SANs for secrets: sa.ns:dns entries',
  },
  'append-dns-names': {
    type: 'boolean',
    default: true,
    help: 'Webhook service accounts (injector, galley) get <svc>.<ns>.svc and <svc>.<ns> SANs',
  },
  'pod-name': { type: 'string', env: 'POD_NAME', help: 'Leader election identity (default hostname-pid)' },
  'nats-url': { type: 'string', env: 'KEEL_NATS_URL', help: 'NATS server for keel.events.ca.*' },
  'log-level': { type: 'string', default: 'info', help: 'Log level' },
});
