#!/usr/bin/env node
import { createLogger, initTracing, onShutdown, parseFlagsOrExit } from '@keel/runtime';
import { KubeConfig } from '@kubernetes/client-node';
import { createSidecarInjector } from './injector.js';
import { injectorFlags } from './options.js';

const f = parseFlagsOrExit(injectorFlags, 'sidecar-injector');
const logger = createLogger('sidecar-injector', { level: f['log-level'] });
let kubeConfig: KubeConfig | undefined;
if (f.kubeconfig) {
  kubeConfig = new KubeConfig();
  if (f.kubeconfig === 'in-cluster') kubeConfig.loadFromCluster();
  else kubeConfig.loadFromFile(f.kubeconfig);
}
const tracing = initTracing({ serviceName: 'sidecar-injector' });
const injector = createSidecarInjector({
  host: f.host,
  port: f.port,
  monitoringPort: f['monitoring-port'],
  tlsCertFile: f['tls-cert'],
  tlsKeyFile: f['tls-key'],
  ...(f['ca-cert'] ? { caCertFile: f['ca-cert'] } : {}),
  configFile: f['inject-config'],
  valuesFile: f['inject-values'],
  ...(f['mesh-config'] ? { meshConfigFile: f['mesh-config'] } : {}),
  ...(kubeConfig ? { kubeConfig } : {}),
  webhookConfigName: f['webhook-config-name'],
  webhookName: f['webhook-name'],
  logger,
});
try {
  await injector.start();
} catch (e) {
  logger.error({ err: (e as Error).message }, 'sidecar injector failed to start');
  process.exit(1);
}
onShutdown(async () => {
  await injector.stop();
  await tracing.shutdown();
});
