#!/usr/bin/env node
import { controlPlaneTlsFromFlags } from '@keel/pki';
import { createLogger, onShutdown, parseFlagsOrExit } from '@keel/runtime';
import { mixerPolicyFlags } from './options.js';
import { createMixerPolicy } from './server.js';

const f = parseFlagsOrExit(mixerPolicyFlags, 'mixer-policy');
const logger = createLogger('mixer-policy', { level: f['log-level'] });
// mTLS serving, and to Galley when asked for or when the mesh config turns control-plane security on.
const security = controlPlaneTlsFromFlags(f);
if (!security.ok) {
  console.error(`mixer-policy: ${security.errors}`);
  process.exit(2);
}
const { secure, mcpTls } = security.value;
const policy = createMixerPolicy({
  mcpAddress: f['mcp-address'],
  host: f.host,
  grpcPort: f['grpc-port'],
  ...(mcpTls ? { mcpTls } : {}),
  ...(secure ? { secure } : {}),
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
