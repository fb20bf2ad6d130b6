import { defineFlags } from '@keel/runtime';

/** The injector's flags (env `KEEL_<NAME>`); Istio 1.4 defaults where one exists. */
export const injectorFlags = defineFlags({
  host: { type: 'string', default: '0.0.0.0', help: 'Address to listen on' },
  port: { type: 'number', default: 9443, help: 'HTTPS port of the /inject webhook' },
  'monitoring-port': {
    type: 'number',
    default: 15014,
    help: 'Monitoring port: /metrics /healthz /ready /version',
  },
  'tls-cert': {
    type: 'string',
    default: '/etc/istio/certs/cert-chain.pem',
    help: 'Serving certificate (PEM), reloaded when it changes',
  },
  'tls-key': {
    type: 'string',
    default: '/etc/istio/certs/key.pem',
    help: 'Serving private key (PEM), reloaded when it changes',
  },
  'ca-cert': {
    type: 'string',
    help: 'CA (PEM) written to the webhook caBundle; the serving chain when absent',
  },
  'inject-config': {
    type: 'string',
    default: '/etc/istio/inject/config',
    help: 'The ConfigMap "config": policy, selectors, injectedAnnotations, template',
  },
  'inject-values': {
    type: 'string',
    default: '/etc/istio/inject/values',
    help: 'The ConfigMap "values": Helm values JSON the template reads',
  },
  'mesh-config': { type: 'string', help: 'MeshConfig YAML file (defaults apply when absent)' },
  kubeconfig: {
    type: 'string',
    help: 'Keep the webhook caBundle current through this kubeconfig ("in-cluster" for the service account)',
  },
  'webhook-config-name': {
    type: 'string',
    default: 'istio-sidecar-injector',
    help: 'MutatingWebhookConfiguration whose caBundle is patched',
  },
  'webhook-name': {
    type: 'string',
    default: 'sidecar-injector.istio.io',
    help: 'Webhook entry in that configuration',
  },
  'log-level': { type: 'string', default: 'info', help: 'Log level' },
});
