#!/usr/bin/env node
import { controlPlaneCertDir } from '@keel/pki';
import { createLogger, initTracing, onShutdown, parseFlagsOrExit } from '@keel/runtime';
import type { PushStatus } from './push/pusher.js';
import { pilotFlags } from './server/options.js';
import { createPilot } from './server/pilot.js';

const f = parseFlagsOrExit(pilotFlags, 'pilot');
const logger = createLogger('pilot', { level: f['log-level'] });
const security = controlPlaneCertDir({ certDir: f['cert-dir'], meshConfigFile: f['mesh-config'] });
if (!security.ok) {
  console.error(`pilot: ${security.errors}`);
  process.exit(2);
}
const certDir = security.value?.certDir;
// Galley requires mTLS when the mesh config turns control-plane security on: reach it with it too.
const mcpTls = certDir && (f['mcp-tls'] || security.value?.byMeshConfig);
const pilot = createPilot({
  mcpAddress: f['mcp-address'],
  host: f.host,
  grpcPort: f['grpc-port'],
  ...(mcpTls
    ? {
        mcpTls: {
          certDir,
          galleyIdentity:
            f['galley-identity'] ??
            `spiffe://${f['trust-domain']}/ns/istio-system/sa/istio-galley-service-account`,
        },
      }
    : {}),
  ...(certDir ? { secure: { port: f['secure-grpc-port'], certDir, trustDomain: f['trust-domain'] } } : {}),
  httpPort: f['http-port'],
  monitoringPort: f['monitoring-port'],
  domain: f.domain,
  ...(f['nats-url'] ? { natsUrl: f['nats-url'] } : {}),
  debounceAfterMs: f['debounce-after'],
  debounceMaxMs: f['debounce-max'],
  pushThrottle: f['push-throttle'],
  sendTimeoutMs: f['send-timeout'],
  mcpReconnectMaxMs: f['mcp-reconnect-max'],
  mcpMaxMessageBytes: f['mcp-max-message-size'],
  ...(f['pod-name'] ? { podName: f['pod-name'] } : {}),
  logger,
});
// One span per push (exported only when KEEL_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT is set).
const tracing = initTracing({ serviceName: 'pilot' });
pilot.events.on('push', (s: PushStatus) => {
  tracing.tracer
    .startSpan('pilot.push', {
      startTime: Date.now() - s.durationMs,
      attributes: {
        'keel.push.version': s.version,
        'keel.push.full': s.full,
        'keel.push.proxies': s.proxies,
        'keel.push.builds': s.builds,
      },
    })
    .end();
});
const ports = await pilot.start();
logger.info({ ...ports }, 'pilot listening');
onShutdown(async () => {
  await pilot.stop();
  await tracing.shutdown();
});
