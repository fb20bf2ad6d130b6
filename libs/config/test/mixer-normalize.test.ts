// The normalized spec of the Mixer kinds: one spelling (camelCase), enum names, durations in
// google.protobuf.Duration JSON, adapter params of Keel's adapters per their config message,
// template params camelCase at the top with user map keys kept, other adapters' params as written.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatError, type Resource, toResource, validateResource } from '../src/index.js';

const m = (kind: string, spec: unknown): Record<string, unknown> => ({
  apiVersion: 'config.istio.io/v1alpha2',
  kind,
  metadata: { name: 'x', namespace: 'istio-system' },
  spec,
});

function body(o: Record<string, unknown>): unknown {
  const parsed = toResource(o);
  if ('error' in parsed) throw new Error(formatError(parsed.error));
  const r = validateResource(parsed.resource as Resource);
  if (!r.ok) throw new Error(r.errors.map((e) => formatError(e)).join('; '));
  return r.value.body;
}

describe('Mixer kinds normalize to one spelling', () => {
  it('handler: Handler fields and denier/memquota params camelCase, durations as Duration JSON', () => {
    assert.deepEqual(
      body(
        m('handler', {
          compiled_adapter: 'memquota',
          params: {
            quotas: [
              {
                name: 'rq',
                max_amount: '5',
                valid_duration: '1m30s',
                rate_limit_algorithm: 1,
                overrides: [{ dimensions: { source_user: 'u' }, max_amount: 1 }],
              },
            ],
            min_deduplication_duration: '1.5s',
          },
          connection: { address: 'a:1', timeout: '500ms' },
        }),
      ),
      {
        compiledAdapter: 'memquota',
        params: {
          quotas: [
            {
              name: 'rq',
              maxAmount: 5,
              validDuration: '90s',
              rateLimitAlgorithm: 'ROLLING_WINDOW',
              overrides: [{ dimensions: { source_user: 'u' }, maxAmount: 1 }],
            },
          ],
          minDeduplicationDuration: '1.500s',
        },
        connection: { address: 'a:1', timeout: '0.500s' },
      },
    );
  });

  it('prometheus and stdio params: nested messages, enum numbers named, map keys kept', () => {
    assert.deepEqual(
      body(
        m('prometheus', {
          metrics: [
            {
              instance_name: 'i',
              kind: 2,
              label_names: ['a_b'],
              buckets: { linear_buckets: { num_finite_buckets: 3 } },
            },
          ],
          metrics_expiration_policy: { metrics_expiry_duration: '1h' },
        }),
      ),
      {
        metrics: [
          {
            instanceName: 'i',
            kind: 'COUNTER',
            labelNames: ['a_b'],
            buckets: { linearBuckets: { numFiniteBuckets: 3 } },
          },
        ],
        metricsExpirationPolicy: { metricsExpiryDuration: '3600s' },
      },
    );
    assert.deepEqual(
      body(m('stdio', { log_stream: 1, severity_levels: { my_level: 2 }, output_as_json: true })),
      {
        logStream: 'STDOUT',
        severityLevels: { my_level: 'ERROR' },
        outputAsJson: true,
      },
    );
  });

  it('instance params: top-level template fields camelCase, dimension names as written', () => {
    assert.deepEqual(
      body(
        m('instance', {
          compiled_template: 'metric',
          params: { value: '1', dimensions: { source_app: 'a' }, monitored_resource_type: '"x"' },
        }),
      ),
      {
        compiledTemplate: 'metric',
        params: { value: '1', dimensions: { source_app: 'a' }, monitoredResourceType: '"x"' },
      },
    );
    assert.deepEqual(body(m('tracespan', { trace_id: 't', span_tags: { http_method: 'm' } })), {
      traceId: 't',
      spanTags: { http_method: 'm' },
    });
  });

  it('rule, attributemanifest, QuotaSpec and QuotaSpecBinding', () => {
    assert.deepEqual(
      body(
        m('rule', {
          actions: [{ handler: 'h', instances: ['i'] }],
          response_header_operations: [{ name: 'x', operation: 2 }],
          sampling: {
            random: { percent_sampled: { numerator: 1, denominator: 1 } },
            rate_limit: { sampling_duration: '90s' },
          },
        }),
      ),
      {
        actions: [{ handler: 'h', instances: ['i'] }],
        responseHeaderOperations: [{ name: 'x', operation: 'APPEND' }],
        sampling: {
          random: { percentSampled: { numerator: 1, denominator: 'TEN_THOUSAND' } },
          rateLimit: { samplingDuration: '90s' },
        },
      },
    );
    assert.deepEqual(body(m('attributemanifest', { attributes: { 'a.b': { value_type: 3 } } })), {
      attributes: { 'a.b': { valueType: 'DOUBLE' } },
    });
    assert.deepEqual(body(m('QuotaSpec', { rules: [{ quotas: [{ quota: 'rq', charge: '2' }] }] })), {
      rules: [{ quotas: [{ quota: 'rq', charge: 2 }] }],
    });
    assert.deepEqual(
      body(m('QuotaSpecBinding', { services: [{ name: 's' }], quota_specs: [{ name: 'rq' }] })),
      {
        services: [{ name: 's' }],
        quotaSpecs: [{ name: 'rq' }],
      },
    );
  });

  it('params of adapters Keel does not run are served as written', () => {
    const params = { some_field: { nested_field: 1 } };
    assert.deepEqual(body(m('handler', { adapter: 'stackdriver', params })), {
      adapter: 'stackdriver',
      params,
    });
    assert.deepEqual(body(m('stackdriver', params)), params);
  });
});
