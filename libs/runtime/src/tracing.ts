import { type Tracer, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP base URL or full `/v1/traces` URL; default $KEEL_OTLP_ENDPOINT, then $OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint?: string;
  /** Export here instead (tests pass an InMemorySpanExporter). */
  exporter?: SpanExporter;
  /** Install as the global tracer provider (default true); tests that start several pass false. */
  register?: boolean;
  env?: Record<string, string | undefined>;
}

export interface Tracing {
  tracer: Tracer;
  /** True when spans are exported somewhere. */
  enabled: boolean;
  forceFlush(): Promise<void>;
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
}

/** `http://collector:4318` -> `http://collector:4318/v1/traces`; full URLs stay as they are. */
export function tracesUrl(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/traces') ? trimmed : `${trimmed}/v1/traces`;
}

/** OpenTelemetry tracing, off (a no-op tracer) unless an endpoint or exporter is configured. */
export function initTracing(options: TracingOptions): Tracing {
  const env = options.env ?? process.env;
  const endpoint = options.endpoint ?? env.KEEL_OTLP_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporter =
    options.exporter ?? (endpoint ? new OTLPTraceExporter({ url: tracesUrl(endpoint) }) : undefined);
  if (exporter === undefined) {
    return {
      tracer: trace.getTracer(options.serviceName),
      enabled: false,
      forceFlush: async () => {},
      shutdown: async () => {},
    };
  }
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': options.serviceName })),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  if (options.register !== false) provider.register();
  return {
    tracer: provider.getTracer(options.serviceName),
    enabled: true,
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
