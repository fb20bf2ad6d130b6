#!/usr/bin/env node
import { controlPlaneTlsFromFlags } from '@keel/pki';
import { createLogger, initTracing, onShutdown, parseFlagsOrExit } from '@keel/runtime';
import type { PushStatus } from './push/pusher.js';
import { pilotFlags } from './server/options.js';
import { createPilot } from './server/pilot.js';

const f = parseFlagsOrExit(pilotFlags, 'pilot');
const logger = createLogger('pilot', { level: f['log-level'] });
// mTLS serving, and to Galley when asked for or when the mesh config turns control-plane security on.
const security = controlPlaneTlsFromFlags(f);
if (!security.ok) {
  console.error(`pilot: ${security.errors}`);
  process.exit(2);
}
const { secure, mcpTls } = security.value;
const pilot = createPilot({
  mcpAddress: f['mcp-address'],
  host: f.host,
  grpcPort: f['grpc-port'],
  ...(mcpTls ? { mcpTls } : {}),
  ...(secure ? { secure } : {}),
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
