#!/usr/bin/env node
import { createLogger, onShutdown, parseFlagsOrExit } from '@keel/runtime';
import { KubeConfig } from '@kubernetes/client-node';
import { createCitadel } from './citadel.js';
import { citadelFlags } from './options.js';

const f = parseFlagsOrExit(citadelFlags, 'citadel');
const logger = createLogger('citadel', { level: f['log-level'] });
let kubeConfig: KubeConfig | undefined;
if (f.kubeconfig) {
  kubeConfig = new KubeConfig();
  if (f.kubeconfig === 'in-cluster') kubeConfig.loadFromCluster();
  else kubeConfig.loadFromFile(f.kubeconfig);
}
const plugged = f['signing-cert'] || f['signing-key'] || f['root-cert'];
if (plugged && !(f['signing-cert'] && f['signing-key'] && f['root-cert'])) {
  console.error('citadel: a plugged-in CA needs --signing-cert, --signing-key and --root-cert');
  process.exit(2);
}
if (!plugged && !f['ca-dir'] && !kubeConfig) {
  console.error('citadel: one of --ca-dir, --kubeconfig or the plugged-in CA flags is required');
  process.exit(2);
}
if (f['key-algorithm'] !== 'RSA' && f['key-algorithm'] !== 'ECDSA') {
  console.error(`citadel: --key-algorithm must be RSA or ECDSA, not '${f['key-algorithm']}'`);
  process.exit(2);
}
const citadel = createCitadel({
  host: f.host,
  grpcPort: f['grpc-port'],
  monitoringPort: f['monitoring-port'],
  trustDomain: f['trust-domain'],
  ...(f['ca-dir'] ? { caDir: f['ca-dir'] } : {}),
  ...(kubeConfig ? { kubeConfig } : {}),
  storageNamespace: f['citadel-storage-namespace'],
  ...(plugged
    ? {
        plugged: {
          signingCert: f['signing-cert']!,
          signingKey: f['signing-key']!,
          rootCert: f['root-cert']!,
          ...(f['cert-chain'] ? { certChain: f['cert-chain'] } : {}),
        },
      }
    : {}),
  keyAlgorithm: f['key-algorithm'],
  rsaBits: f['key-size'],
  rootTtlMs: f['self-signed-ca-cert-ttl'],
  workloadTtlMs: f['workload-cert-ttl'],
  maxWorkloadTtlMs: f['max-workload-cert-ttl'],
  gracePeriodRatio: f['workload-cert-grace-period-ratio'],
  minGracePeriodMs: f['workload-cert-min-grace-period'],
  rootCheckIntervalMs: f['root-cert-check-interval'],
  rootGraceRatio: f['root-cert-grace-period-ratio'],
  ...(f['token-file'] ? { tokenFile: f['token-file'] } : {}),
  sdsEnabled: f['sds-enabled'],
  serverOnly: f['server-only'],
  enableNamespacesByDefault: f['enable-namespaces-by-default'],
  customDnsNames: f['custom-dns-names'],
  appendDnsNames: f['append-dns-names'],
  ...(f['pod-name'] ? { podName: f['pod-name'] } : {}),
  ...(f['nats-url'] ? { natsUrl: f['nats-url'] } : {}),
  logger,
});
const ports = await citadel.start();
logger.info({ ...ports }, 'citadel listening');
onShutdown(() => citadel.stop());
