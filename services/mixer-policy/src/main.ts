#!/usr/bin/env node
import { controlPlaneCertDir } from '@keel/pki';
import { createLogger, onShutdown, parseFlagsOrExit } from '@keel/runtime';
import { mixerPolicyFlags } from './options.js';
import { createMixerPolicy } from './server.js';

const f = parseFlagsOrExit(mixerPolicyFlags, 'mixer-policy');
const logger = createLogger('mixer-policy', { level: f['log-level'] });
const security = controlPlaneCertDir({ certDir: f['cert-dir'], meshConfigFile: f['mesh-config'] });
if (!security.ok) {
  console.error(`mixer-policy: ${security.errors}`);
  process.exit(2);
}
const certDir = security.value?.certDir;
// Galley requires mTLS when the mesh config turns control-plane security on: reach it with it too.
const mcpTls = certDir && (f['mcp-tls'] || security.value?.byMeshConfig) ? certDir : undefined;
const policy = createMixerPolicy({
  mcpAddress: f['mcp-address'],
  host: f.host,
  grpcPort: f['grpc-port'],
  ...(mcpTls
    ? {
        mcpTls: {
          certDir: mcpTls,
          galleyIdentity:
            f['galley-identity'] ??
            `spiffe://${f['trust-domain']}/ns/istio-system/sa/istio-galley-service-account`,
        },
      }
    : {}),
  ...(certDir ? { secure: { port: f['secure-grpc-port'], certDir, trustDomain: f['trust-domain'] } } : {}),
  monitoringPort: f['monitoring-port'],
  domain: f.domain,
  configDefaultNamespace: f['config-default-namespace'],
  checkCacheEntries: f['check-cache-entries'],
  deniedEventsPerSecond: f['denied-events-per-second'],
  ...(f['nats-url'] ? { natsUrl: f['nats-url'] } : {}),
  ...(f['pod-name'] ? { replica: f['pod-name'] } : {}),
  logger,
});
const ports = await policy.start();
logger.info({ ...ports }, 'mixer-policy started');
onShutdown(() => policy.stop());
