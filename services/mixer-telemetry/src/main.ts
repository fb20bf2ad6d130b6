#!/usr/bin/env node
import { controlPlaneTlsFromFlags } from '@keel/pki';
import { createLogger, initTracing, onShutdown, parseFlagsOrExit } from '@keel/runtime';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { telemetryFlags } from './options.js';
import { createMixerTelemetry } from './telemetry.js';

const f = parseFlagsOrExit(telemetryFlags, 'mixer-telemetry');
const logger = createLogger('mixer-telemetry', { level: f['log-level'] });
const tracing = initTracing({ serviceName: 'mixer-telemetry' });
// tracespan handlers export to the same OTLP endpoint as the service's own traces (Jaeger in compose).
const otlp = process.env.KEEL_OTLP_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
// mTLS serving, and to Galley when asked for or when the mesh config turns control-plane security on.
const security = controlPlaneTlsFromFlags(f);
if (!security.ok) {
  console.error(`mixer-telemetry: ${security.errors}`);
  process.exit(2);
}
const { secure, mcpTls } = security.value;
const telemetry = createMixerTelemetry({
  mcpAddress: f['mcp-address'],
  host: f.host,
  grpcPort: f['grpc-port'],
  ...(mcpTls ? { mcpTls } : {}),
  ...(secure ? { secure } : {}),
  metricsPort: f['metrics-port'],
  monitoringPort: f['monitoring-port'],
  domain: f.domain,
  defaultNamespace: f['config-default-namespace'],
  maxMessageBytes: f['max-message-size'],
  ...(f['nats-url'] ? { natsUrl: f['nats-url'] } : {}),
  ...(otlp
    ? {
        spanExporter: new OTLPTraceExporter({
          url: `${otlp.replace(/\/+$/, '').replace(/\/v1\/traces$/, '')}/v1/traces`,
        }),
      }
    : {}),
  logger,
});
const ports = await telemetry.start();
logger.info({ ...ports }, 'mixer-telemetry listening');
onShutdown(async () => {
  await telemetry.stop();
  await tracing.shutdown();
});
