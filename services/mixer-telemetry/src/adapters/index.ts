import { natsLogAdapter } from './nats.js';
import { prometheusAdapter } from './prometheus.js';
import { stdioAdapter } from './stdio.js';
import { tracespanAdapter } from './tracespan.js';
import type { AdapterFactory } from './types.js';

const noopAdapter: AdapterFactory = {
  templates: new Set(['metric', 'logentry', 'tracespan', 'reportnothing']),
  build: (h) => ({ ok: true, value: { fqn: h.fqn, handle() {}, flush() {}, close() {} } }),
};

/**
 * Report adapters by compiled adapter name. `zipkin` (Istio 1.4's tracespan adapter) and
 * `opentelemetry` both export tracespans as OpenTelemetry spans; `natslog` is Keel's.
 */
export const REPORT_ADAPTERS: ReadonlyMap<string, AdapterFactory> = new Map([
  ['prometheus', prometheusAdapter],
  ['stdio', stdioAdapter],
  ['natslog', natsLogAdapter],
  ['zipkin', tracespanAdapter],
  ['opentelemetry', tracespanAdapter],
  ['noop', noopAdapter],
]);
