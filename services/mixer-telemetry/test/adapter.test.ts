// The prometheus adapter and the rule runtime on their own: bucket forms, kinds, expiry, legacy
// per-kind CRDs, exposition escaping, and config errors that leave the rest working.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { Duration, MapBag } from '@keel/attributes';
import { silentLogger } from '@keel/runtime';
import { sharedTestdata } from '@keel/testing';
import { REPORT_ADAPTERS } from '../src/adapters/index.js';
import { createSpanSink } from '../src/adapters/tracespan.js';
import { bucketBounds, buildRuntime, cexlCompiler, mixerConfigOf, PromStore } from '../src/index.js';
import { resourcesOfYaml } from './production.js';
import { find, parseSamples } from './promtext.js';

const resources = resourcesOfYaml;

function runtimeOf(yaml: string, maxSeries?: number, random?: () => number) {
  const prom = new PromStore(maxSeries);
  const ctx = {
    prom,
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    bus: () => undefined,
    spans: createSpanSink(undefined),
    logger: silentLogger,
  };
  const built = buildRuntime(mixerConfigOf(resources(yaml)), {
    compiler: cexlCompiler(),
    adapters: REPORT_ADAPTERS,
    ctx,
    ...(random ? { random } : {}),
  });
  return { ...built, prom, samples: () => parseSamples(prom.render().toString()) };
}

const METRICS = `
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: latency, namespace: istio-system}
spec:
  compiledTemplate: metric
  params:
    value: response.duration | "0ms"
    dimensions: {path: 'request.path | "-"', code: response.code | 0}
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: size, namespace: istio-system}
spec:
  compiledTemplate: metric
  params:
    value: response.size | 0
    dimensions: {code: response.code | 0, path: 'request.path | "-"'}
---
apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: h, namespace: istio-system}
spec:
  compiledAdapter: prometheus
  params:
    metricsExpirationPolicy: {metricsExpiryDuration: 2s, expiryCheckIntervalDuration: 1s}
    metrics:
    - {name: lat_linear, instance_name: latency.instance.istio-system, kind: DISTRIBUTION, label_names: [path, code], buckets: {linearBuckets: {numFiniteBuckets: 3, width: 0.1, offset: 0}}}
    - {name: size_gauge, namespace: keel, instance_name: size.instance.istio-system, kind: GAUGE, label_names: [path, code]}
    - {name: size_total, instance_name: size.instance.istio-system, kind: COUNTER, label_names: [code, path]}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: r, namespace: istio-system}
spec:
  actions: [{handler: h, instances: [latency, size]}]
`;

const entry = (path: string, code: number, ms: number, size: number) =>
  new MapBag({
    'request.path': path,
    'response.code': code,
    'response.duration': new Duration(ms),
    'response.size': size,
    'context.reporter.kind': 'inbound',
    'destination.namespace': 'default',
  });

describe('prometheus adapter', () => {
  it('bucket forms follow Istio: explicit bounds, linear N+1 bounds from offset, exponential scale*growth^i', () => {
    assert.deepEqual(bucketBounds({ explicitBuckets: { bounds: [1, 2, 5] } }), {
      ok: true,
      value: [1, 2, 5],
    });
    assert.deepEqual(bucketBounds({ linearBuckets: { numFiniteBuckets: 3, width: 2, offset: 1 } }), {
      ok: true,
      value: [1, 3, 5, 7],
    });
    assert.deepEqual(
      bucketBounds({ exponentialBuckets: { numFiniteBuckets: 3, growthFactor: 10, scale: 1 } }),
      {
        ok: true,
        value: [1, 10, 100, 1000],
      },
    );
    assert.equal(bucketBounds({ explicitBuckets: { bounds: [2, 1] } }).ok, false);
    assert.equal(
      bucketBounds({ exponentialBuckets: { numFiniteBuckets: 3, growthFactor: 1, scale: 1 } }).ok,
      false,
    );
    assert.equal(bucketBounds({ linearBuckets: { numFiniteBuckets: 100_000, width: 1 } }).ok, false);
  });

  it('COUNTER adds, GAUGE keeps the last value, DISTRIBUTION fills linear buckets; label order follows label_names', () => {
    const { runtime, errors, samples } = runtimeOf(METRICS);
    assert.deepEqual(errors, []);
    runtime.report([entry('/a', 200, 50, 10), entry('/a', 200, 150, 30), entry('/b', 500, 400, 7)]);
    const s = samples();
    assert.equal(find(s, 'istio_size_total', { code: '200', path: '/a' })[0]!.value, 40);
    assert.deepEqual(Object.keys(find(s, 'istio_size_total')[0]!.labels), ['code', 'path']);
    assert.equal(find(s, 'keel_size_gauge', { path: '/a' })[0]!.value, 30);
    const b = find(s, 'istio_lat_linear_bucket', { path: '/a' });
    assert.deepEqual(
      b.map((x) => [x.labels.le, x.value]),
      [
        ['0', 0],
        ['0.1', 1],
        ['0.2', 2],
        ['0.30000000000000004', 2],
        ['+Inf', 2],
      ],
    );
    assert.equal(find(s, 'istio_lat_linear_bucket', { path: '/b', le: '+Inf' })[0]!.value, 1);
  });

  it('series idle past metricsExpiryDuration are dropped, others kept', () => {
    const { runtime, prom } = runtimeOf(METRICS);
    runtime.report([entry('/old', 200, 1, 1)], 1_000);
    runtime.report([entry('/new', 200, 1, 1)], 2_500);
    assert.equal(prom.expireNow(3_500), 3);
    const s = parseSamples(prom.render().toString());
    assert.equal(find(s, 'istio_size_total', { path: '/old' }).length, 0);
    assert.equal(find(s, 'istio_size_total', { path: '/new' }).length, 1);
    prom.close();
  });

  it('a family holds at most maxSeries label sets; further ones are dropped and counted', () => {
    const { runtime, samples, prom } = runtimeOf(METRICS, 2);
    runtime.report([
      entry('/1', 200, 1, 1),
      entry('/2', 200, 1, 1),
      entry('/3', 200, 1, 1),
      entry('/1', 200, 1, 1),
    ]);
    assert.equal(find(samples(), 'istio_size_total').length, 2);
    assert.equal(find(samples(), 'istio_size_total', { path: '/1' })[0]!.value, 2);
    assert.equal(prom.droppedCount(), 3);
  });

  it('a rule outside istio-system applies only to its identity namespace (destination inbound, source outbound)', () => {
    const scoped = METRICS.replace(
      'metadata: {name: r, namespace: istio-system}',
      'metadata: {name: r, namespace: team-a}',
    )
      .replaceAll(
        'instances: [latency, size]',
        'instances: [latency.instance.istio-system, size.instance.istio-system]',
      )
      .replace('handler: h,', 'handler: h.handler.istio-system,');
    const { runtime, errors, samples } = runtimeOf(scoped);
    assert.deepEqual(errors, []);
    const inTeamA = entry('/in', 200, 1, 1);
    inTeamA.set('destination.namespace', 'team-a');
    const outFromTeamA = entry('/out', 200, 1, 1);
    outFromTeamA.set('context.reporter.kind', 'outbound').set('source.namespace', 'team-a');
    const elsewhere = entry('/elsewhere', 200, 1, 1);
    runtime.report([inTeamA, outFromTeamA, elsewhere]);
    assert.deepEqual(
      find(samples(), 'istio_size_total')
        .map((x) => x.labels.path)
        .sort(),
      ['/in', '/out'],
    );
  });

  it('rule sampling: percentSampled, numerator from an attribute, and rate limiting', () => {
    const withSampling = (sampling: string) =>
      METRICS.replace(
        '  actions: [{handler: h, instances: [latency, size]}]',
        `  sampling: ${sampling}\n  actions: [{handler: h, instances: [latency, size]}]`,
      );
    // A deterministic "random" source cycling 0.00, 0.01, ..., 0.99.
    const cycle = () => {
      let i = 0;
      return () => (i++ % 100) / 100;
    };
    const hundred = Array.from({ length: 100 }, (_, i) => entry(`/p`, 200, 1, 1 + (i % 1)));
    const count = (r: ReturnType<typeof runtimeOf>) => find(r.samples(), 'istio_size_total')[0]?.value ?? 0;
    const pct = runtimeOf(
      withSampling('{random: {percentSampled: {numerator: 25, denominator: HUNDRED}}}'),
      undefined,
      cycle(),
    );
    assert.deepEqual(pct.errors, []);
    pct.runtime.report(hundred);
    assert.equal(count(pct), 25);
    const byAttr = runtimeOf(
      withSampling(
        '{random: {attributeExpression: response.size, percentSampled: {numerator: 100, denominator: HUNDRED}}}',
      ),
      undefined,
      cycle(),
    );
    byAttr.runtime.report(hundred.map((b) => b.set('response.size', 10)));
    assert.equal(count(byAttr), 100, 'numerator 10 from the attribute: 10 of 100, each counting 10');
    const limited = runtimeOf(
      withSampling('{rateLimit: {samplingDuration: 1s, maxUnsampledEntries: 5, samplingRate: 10}}'),
    );
    limited.runtime.report(
      Array.from({ length: 45 }, () => entry('/p', 200, 1, 1)),
      1_000,
    );
    assert.equal(count(limited), 5 + 4, '5 unsampled, then 1 in 10 of the next 40');
    limited.runtime.report([entry('/p', 200, 1, 1)], 2_500);
    assert.equal(count(limited), 10, 'a new window starts unsampled');
    // A bad duration never reaches the runtime: Galley's validation rejects it, naming the field.
    assert.throws(
      () => runtimeOf(withSampling('{rateLimit: {samplingDuration: "-", maxUnsampledEntries: 5}}')),
      /samplingDuration: bad Duration/,
    );
  });

  it('label values are escaped in the exposition', () => {
    const { runtime, samples } = runtimeOf(METRICS);
    runtime.report([entry('/q"x\\y\nz', 200, 1, 1)]);
    assert.equal(find(samples(), 'istio_size_total')[0]!.labels.path, '/q"x\\y\nz');
  });

  it('the legacy per-kind CRDs of the bookinfo sample (kind: prometheus, handler ref name.kind) work', () => {
    const { runtime, errors, samples } = runtimeOf(
      readFileSync(sharedTestdata('samples', 'bookinfo', 'telemetry', 'metrics-crd.yaml'), 'utf8'),
    );
    assert.deepEqual(errors, []);
    const bag = entry('/', 200, 1, 1);
    bag
      .set('context.reporter.kind', 'outbound')
      .set('source.workload.name', 'productpage-v1')
      .set('source.namespace', 'default');
    runtime.report([bag]);
    assert.deepEqual(find(samples(), 'istio_double_request_count')[0], {
      name: 'istio_double_request_count',
      labels: {
        reporter: 'client',
        source: 'productpage-v1',
        destination: 'unknown',
        message: 'twice the fun!',
      },
      value: 2,
    });
  });

  it('config errors are collected per resource; unaffected rules keep working', () => {
    const bad = `${METRICS}
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: broken, namespace: istio-system}
spec:
  compiledTemplate: metric
  params: {value: 'request.size +', dimensions: {}}
---
apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: badbuckets, namespace: istio-system}
spec:
  compiledAdapter: prometheus
  params: {metrics: [{name: x, instance_name: size.instance.istio-system, kind: DISTRIBUTION, label_names: [code, path], buckets: {explicitBuckets: {bounds: []}}}]}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: r2, namespace: istio-system}
spec:
  match: request.path == 3
  actions: [{handler: h, instances: [size]}]
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: r3, namespace: istio-system}
spec:
  actions: [{handler: badbuckets, instances: [size]}, {handler: nohandler, instances: [size]}, {handler: h, instances: [broken]}]
`;
    const { runtime, errors, samples } = runtimeOf(bad);
    const by = (r: string) => errors.filter((e) => e.resource === r).map((e) => e.message);
    assert.match(by('broken.instance.istio-system')[0]!, /value: 'request\.size \+': 1:\d+/);
    assert.match(by('badbuckets.handler.istio-system')[0]!, /buckets/);
    assert.match(by('r2.rule.istio-system')[0]!, /match: 'request\.path == 3': 1:\d+: /);
    assert.deepEqual(by('r3.rule.istio-system').sort(), [
      "handler 'nohandler' not found",
      "instance 'broken' was rejected",
    ]);
    runtime.report([entry('/a', 200, 1, 5)]);
    assert.equal(find(samples(), 'istio_size_total')[0]!.value, 5);
  });
});
