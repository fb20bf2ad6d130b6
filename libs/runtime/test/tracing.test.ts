import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { initTracing, tracesUrl } from '../src/index.js';

describe('initTracing', () => {
  it('is off without an endpoint or exporter: spans are non-recording', () => {
    const t = initTracing({ serviceName: 'pilot', env: {} });
    assert.equal(t.enabled, false);
    const span = t.tracer.startSpan('push');
    assert.equal(span.isRecording(), false);
    span.end();
  });

  it('exports spans with the service name and parent links to the given exporter', async () => {
    const exporter = new InMemorySpanExporter();
    const t = initTracing({ serviceName: 'galley', exporter, register: false });
    assert.equal(t.enabled, true);
    // Without register() there is no context manager: pass the parent context explicitly.
    const parentSpan = t.tracer.startSpan('snapshot');
    const ctx = trace.setSpan(context.active(), parentSpan);
    t.tracer.startSpan('validate', { attributes: { kind: 'VirtualService' } }, ctx).end();
    parentSpan.end();
    await t.forceFlush();
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(spans.map((s) => s.name).sort(), ['snapshot', 'validate']);
    const parent = spans.find((s) => s.name === 'snapshot')!;
    const child = spans.find((s) => s.name === 'validate')!;
    assert.equal(child.attributes.kind, 'VirtualService');
    assert.equal(child.resource.attributes['service.name'], 'galley');
    assert.equal(child.spanContext().traceId, parent.spanContext().traceId);
    assert.equal(child.parentSpanContext?.spanId, parent.spanContext().spanId);
    await t.shutdown();
  });

  it('builds the OTLP traces URL from a base endpoint', () => {
    assert.equal(tracesUrl('http://jaeger:4318'), 'http://jaeger:4318/v1/traces');
    assert.equal(tracesUrl('http://jaeger:4318/'), 'http://jaeger:4318/v1/traces');
    assert.equal(tracesUrl('http://c:4318/v1/traces'), 'http://c:4318/v1/traces');
    const t = initTracing({
      serviceName: 'x',
      env: { KEEL_OTLP_ENDPOINT: 'http://127.0.0.1:1' },
      register: false,
    });
    assert.equal(t.enabled, true);
    void t.shutdown().catch(() => {});
  });
});
