#!/usr/bin/env node
import { watchWebhookCaBundle } from '@keel/kube';
import { controlPlaneCertDir } from '@keel/pki';
import { createLogger, initTracing, onShutdown, parseFlagsOrExit } from '@keel/runtime';
import { KubeConfig } from '@kubernetes/client-node';
import { createGalley } from './galley.js';
import { galleyFlags } from './options.js';

const f = parseFlagsOrExit(galleyFlags, 'galley');
const logger = createLogger('galley', { level: f['log-level'] });
let kubeConfig: KubeConfig | undefined;
if (f.kubeconfig) {
  kubeConfig = new KubeConfig();
  if (f.kubeconfig === 'in-cluster') kubeConfig.loadFromCluster();
  else kubeConfig.loadFromFile(f.kubeconfig);
}
if (!f['config-dir'] && !kubeConfig) {
  console.error('galley: one of --config-dir or --kubeconfig is required');
  process.exit(2);
}
const security = controlPlaneCertDir({ certDir: f['cert-dir'], meshConfigFile: f['mesh-config'] });
if (!security.ok) {
  console.error(`galley: ${security.errors}`);
  process.exit(2);
}
const certDir = security.value?.certDir;
const tracing = initTracing({ serviceName: 'galley' });
const galley = createGalley({
  tracer: tracing.tracer,
  ...(f['config-dir'] ? { configDir: f['config-dir'] } : {}),
  ...(kubeConfig ? { kubeConfig } : {}),
  ...(f['mesh-config'] ? { meshConfigFile: f['mesh-config'] } : {}),
  host: f.host,
  mcpPort: f['mcp-port'],
  ...(certDir ? { mcpTls: { certDir, trustDomain: f['trust-domain'] } } : {}),
  webhookPort: f['webhook-port'],
  monitoringPort: f['monitoring-port'],
  ...(f['tls-cert'] ? { tlsCertFile: f['tls-cert'] } : {}),
  ...(f['tls-key'] ? { tlsKeyFile: f['tls-key'] } : {}),
  ...(f['nats-url'] ? { natsUrl: f['nats-url'] } : {}),
  debounceQuietMs: f['debounce-quiet'],
  debounceMaxMs: f['debounce-max'],
  limits: { maxBytes: f['max-resource-size'], maxDepth: f['max-resource-depth'] },
  rescanIntervalMs: f['rescan-interval'],
  logger,
});
const addresses = await galley.start();
logger.info({ ...addresses }, 'galley listening');
// Istio 1.4's self-registration: keep the ValidatingWebhookConfiguration's caBundle current.
const caBundle =
  kubeConfig && addresses.webhookPort !== undefined && f['tls-cert'] && f['tls-key']
    ? await watchWebhookCaBundle(kubeConfig, {
        kind: 'ValidatingWebhookConfiguration',
        name: f['webhook-config-name'],
        certFile: f['tls-cert'],
        keyFile: f['tls-key'],
        ...(f['ca-cert'] ? { caFile: f['ca-cert'] } : {}),
        logger: logger.child({ part: 'webhook-registration' }),
      })
    : undefined;
onShutdown(async () => {
  caBundle?.close();
  await galley.stop();
  await tracing.shutdown();
});
