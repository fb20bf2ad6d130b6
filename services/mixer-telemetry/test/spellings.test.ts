// One model, one spelling: Mixer telemetry config written with JSON names and with proto field names
// goes object -> Galley validation and normalization -> MCP resource -> mixer-telemetry's decoding ->
// the runtime, and gives identical Prometheus metrics and stdio log lines.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { Duration, MapBag } from '@keel/attributes';
import { silentLogger } from '@keel/runtime';
import { REPORT_ADAPTERS } from '../src/adapters/index.js';
import { createSpanSink } from '../src/adapters/tracespan.js';
import { buildRuntime, cexlCompiler, mixerConfigOf, PromStore } from '../src/index.js';
import { resourcesOf } from './production.js';

type Obj = Record<string, unknown>;

/** camelCase keys -> proto field names; map keys in this table's data have no capitals, so they stay. */
function protoNames(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(protoNames);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), protoNames(x)]),
  );
}

const res = (kind: string, name: string, spec: Obj): Obj => ({
  apiVersion: 'config.istio.io/v1alpha2',
  kind,
  metadata: { name, namespace: 'istio-system' },
  spec,
});

const METRIC_PARAMS = {
  value: 'response.duration | "0ms"',
  dimensions: { request_path: 'request.path | "-"', response_code: 'response.code | 0' },
  monitoredResourceType: '"UNSPECIFIED"',
};
const PROM_PARAMS = {
  metricsExpirationPolicy: { metricsExpiryDuration: '1m30s', expiryCheckIntervalDuration: '1.5s' },
  metrics: [
    {
      name: 'latency_seconds',
      instanceName: 'latency.instance.istio-system',
      kind: 'DISTRIBUTION',
      labelNames: ['request_path', 'response_code'],
      buckets: { exponentialBuckets: { numFiniteBuckets: 4, growthFactor: 10, scale: 0.001 } },
    },
    {
      name: 'requests_total',
      instanceName: 'latency.instance.istio-system',
      kind: 'COUNTER',
      labelNames: ['response_code', 'request_path'],
    },
    {
      name: 'last_latency',
      namespace: 'keel',
      instanceName: 'latency.instance.istio-system',
      kind: 'GAUGE',
      labelNames: ['request_path'],
    },
  ],
};

const CASES: Array<{ name: string; objects: Obj[] }> = [
  {
    name: 'prometheus handler, metric instance, rule with rate-limit sampling',
    objects: [
      res('instance', 'latency', { compiledTemplate: 'metric', params: METRIC_PARAMS }),
      res('handler', 'prom', { compiledAdapter: 'prometheus', params: PROM_PARAMS }),
      res('rule', 'prom', {
        match: 'context.protocol == "http"',
        actions: [{ handler: 'prom', instances: ['latency'] }],
        sampling: { rateLimit: { samplingDuration: '1s', maxUnsampledEntries: 4, samplingRate: 2 } },
      }),
    ],
  },
  {
    name: 'legacy kinds: prometheus and metric',
    objects: [
      res('metric', 'latency', METRIC_PARAMS),
      res('prometheus', 'prom', {
        ...PROM_PARAMS,
        metrics: PROM_PARAMS.metrics.map((m) => ({ ...m, instanceName: 'latency.metric.istio-system' })),
      }),
      res('rule', 'prom', { actions: [{ handler: 'prom.prometheus', instances: ['latency.metric'] }] }),
    ],
  },
  {
    name: 'stdio handler and logentry instance',
    objects: [
      res('instance', 'access', {
        compiledTemplate: 'logentry',
        params: {
          severity: '"info"',
          timestamp: 'request.time',
          variables: { request_path: 'request.path | ""', response_code: 'response.code | 0' },
          monitoredResourceType: '"global"',
        },
      }),
      res('handler', 'log', {
        compiledAdapter: 'stdio',
        params: {
          logStream: 'STDOUT',
          outputAsJson: true,
          outputLevel: 'INFO',
          severityLevels: { info: 'INFO', error: 'ERROR' },
        },
      }),
      res('rule', 'log', { actions: [{ handler: 'log', instances: ['access'] }] }),
    ],
  },
];

const entry = (path: string, code: number, ms: number) =>
  new MapBag({
    'request.path': path,
    'response.code': code,
    'response.duration': new Duration(ms),
    'request.time': new Date(1_700_000_000_000 + ms),
    'context.protocol': 'http',
    'context.reporter.kind': 'inbound',
    'destination.namespace': 'default',
  } as never);

/** Reports a fixed traffic mix and returns the exposition and the stdio output. */
function observe(objects: Obj[]): { metrics: string; stdout: string } {
  const prom = new PromStore();
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  const ctx = {
    prom,
    stdout,
    stderr: new PassThrough(),
    bus: () => undefined,
    spans: createSpanSink(undefined),
    logger: silentLogger,
  };
  const built = buildRuntime(mixerConfigOf(resourcesOf(objects)), {
    compiler: cexlCompiler(),
    adapters: REPORT_ADAPTERS,
    ctx,
  });
  assert.deepEqual(built.errors, []);
  const traffic = Array.from({ length: 12 }, (_, i) =>
    entry(i % 3 === 0 ? '/a' : '/b', i % 4 === 0 ? 503 : 200, i * 7),
  );
  built.runtime.report(traffic, 10_000);
  built.runtime.report(traffic.slice(0, 5), 10_500);
  return { metrics: prom.render().toString(), stdout: Buffer.concat(chunks).toString() };
}

describe('mixer-telemetry reads one spelling (JSON names and proto names give the same telemetry)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const json = observe(c.objects);
      const proto = c.objects.map((o) => ({ ...o, spec: protoNames(o.spec) }));
      assert.notDeepEqual(proto, c.objects, 'the proto-name copy differs from the JSON one');
      assert.deepEqual(observe(proto), json);
      assert.ok(
        json.metrics.includes('response_code="503"') || json.stdout.includes('503'),
        'telemetry was produced',
      );
    });
  }
});
