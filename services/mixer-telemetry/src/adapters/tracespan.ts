// tracespan instances -> OpenTelemetry spans (Istio 1.4's zipkin adapter, here `zipkin` or
// `opentelemetry` handlers). A tracespan is a finished span, so records are exported directly.
import {
  type Attributes,
  type HrTime,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
} from '@opentelemetry/api';
import { defaultResource, type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { type AttrValue, Duration, toNumber } from '../bag.js';
import type { HandlerConfig } from '../config/model.js';
import type { CompiledInstance, SpanInstance } from '../config/templates.js';
import { logValue } from './format.js';
import type { AdapterContext, AdapterFactory, BuildResult } from './types.js';

/** Where finished spans go; `flush` exports what was emitted since the last call. */
export interface SpanSink {
  emit(span: ReadableSpan): void;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

const MAX_PENDING = 10_000;

/** A SpanSink over an exporter (OTLP in production, in-memory in tests); none drops spans. */
export function createSpanSink(
  exporter: SpanExporter | undefined,
  serviceName = 'mixer-telemetry',
): SpanSink & {
  resource: Resource;
  dropped: () => number;
} {
  const resource = defaultResource().merge(resourceFromAttributes({ 'service.name': serviceName }));
  let pending: ReadableSpan[] = [];
  let dropped = 0;
  let inflight: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    if (!exporter || pending.length === 0) return inflight;
    const batch = pending;
    pending = [];
    inflight = inflight.then(() => new Promise<void>((resolve) => exporter.export(batch, () => resolve())));
    return inflight;
  };
  return {
    resource,
    dropped: () => dropped,
    emit(span) {
      if (!exporter) return;
      if (pending.length >= MAX_PENDING) {
        dropped++;
        return;
      }
      pending.push(span);
    },
    flush,
    async shutdown() {
      await flush();
      await exporter?.shutdown();
    },
  };
}

const HEX_TRACE = /^[0-9a-f]{32}$/;
const HEX_SPAN = /^[0-9a-f]{16}$/;

function hexId(v: AttrValue | undefined, len: 16 | 32): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const s = v.toLowerCase().padStart(len, '0');
  return (len === 32 ? HEX_TRACE : HEX_SPAN).test(s) ? s : undefined;
}

function hr(d: Date): HrTime {
  const ms = d.getTime();
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}

const NUMERIC: ReadonlyArray<[string, string]> = [
  ['request_size', 'request.size'],
  ['request_total_size', 'request.total_size'],
  ['response_size', 'response.size'],
  ['response_total_size', 'response.total_size'],
];

/** One evaluated tracespan instance -> a ReadableSpan; undefined without valid trace and span ids. */
export function spanOf(inst: SpanInstance, resource: Resource): ReadableSpan | undefined {
  const v = inst.values;
  const traceId = hexId(v.trace_id, 32);
  const spanId = hexId(v.span_id, 16);
  if (!traceId || !spanId) return undefined;
  const parent = hexId(v.parent_span_id, 16);
  const end = v.end_time instanceof Date ? v.end_time : new Date();
  const start = v.start_time instanceof Date ? v.start_time : end;
  const attributes: Attributes = {};
  for (let i = 0; i < inst.tagNames.length; i++) {
    const t = logValue(inst.tagValues[i]);
    if (t !== undefined) attributes[inst.tagNames[i]!] = typeof t === 'object' ? JSON.stringify(t) : t;
  }
  const str = (x: AttrValue | undefined) => {
    const l = logValue(x);
    return l === undefined ? undefined : typeof l === 'object' ? JSON.stringify(l) : String(l);
  };
  const put = (k: string, x: string | number | undefined) => {
    if (x !== undefined && attributes[k] === undefined) attributes[k] = x;
  };
  put('source.name', str(v.source_name));
  put('source.ip', str(v.source_ip));
  put('destination.name', str(v.destination_name));
  put('destination.ip', str(v.destination_ip));
  put('api.protocol', str(v.api_protocol));
  for (const [field, key] of NUMERIC) {
    const n = v[field as keyof typeof v];
    put(key, n === undefined ? undefined : toNumber(n));
  }
  const code = v.http_status_code === undefined ? undefined : toNumber(v.http_status_code);
  put('http.status_code', code);
  const ctx: SpanContext = { traceId, spanId, traceFlags: TraceFlags.SAMPLED };
  const durMs = end.getTime() - start.getTime();
  const durationSpan = new Duration(durMs);
  return {
    name: str(v.span_name) ?? 'unknown',
    kind: v.client_span === true ? SpanKind.CLIENT : SpanKind.SERVER,
    spanContext: () => ctx,
    ...(parent ? { parentSpanContext: { traceId, spanId: parent, traceFlags: TraceFlags.SAMPLED } } : {}),
    startTime: hr(start),
    endTime: hr(end),
    status: { code: code !== undefined && code >= 500 ? SpanStatusCode.ERROR : SpanStatusCode.UNSET },
    attributes,
    links: [],
    events: [],
    duration: [Math.floor(durationSpan.ms / 1000), (durationSpan.ms % 1000) * 1e6],
    ended: true,
    resource,
    instrumentationScope: { name: 'keel-mixer-telemetry' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function build(h: HandlerConfig, _instances: readonly CompiledInstance[], ctx: AdapterContext): BuildResult {
  const resource = (ctx.spans as { resource?: Resource }).resource ?? defaultResource();
  let invalid = 0;
  return {
    ok: true,
    value: {
      fqn: h.fqn,
      handle(inst) {
        if (inst.template !== 'tracespan') return;
        const span = spanOf(inst, resource);
        if (span) ctx.spans.emit(span);
        else if (invalid++ % 1000 === 0)
          ctx.logger.debug({ handler: h.fqn }, 'tracespan without valid trace/span id skipped');
      },
      flush() {
        void ctx.spans.flush();
      },
      close() {},
    },
  };
}

export const tracespanAdapter: AdapterFactory = { templates: new Set(['tracespan']), build };
