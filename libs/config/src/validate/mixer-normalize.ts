// The normalized spec of the Mixer kinds (config.istio.io/v1alpha2 handler, instance, rule,
// attributemanifest, QuotaSpec, QuotaSpecBinding and the legacy per-adapter/per-template kinds):
// one spelling per field (camelCase), enum names, durations in google.protobuf.Duration JSON form.
//
// Adapter and template `params` are a free google.protobuf.Struct in Istio (each adapter decodes
// them with its own config proto). Keel normalizes them HERE, in one place, by adapter or template:
// - handler params of the adapters Keel runs (denier, listchecker, memquota, redisquota, rbac,
//   prometheus, stdio) follow the adapter's config message below;
// - instance params of every template: top-level keys are field names of the template and get their
//   camelCase name; nested messages follow the template's shape below; map keys (dimensions,
//   variables, spanTags, properties) are user data and stay as written;
// - params of adapters Keel does not run are served as written.
// The mixers read only the camelCase names.
import { type FieldType, isObj, normalizeShape, type Obj, type Shape } from './shape.js';

const camel = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const ANY_MAP: FieldType = { map: 'any' };

const QUOTA_OVERRIDE: FieldType = {
  obj: { dimensions: 'stringMap', maxAmount: 'int', validDuration: 'duration' },
};
const QUOTA_PARAMS: Shape = {
  quotas: {
    list: {
      obj: {
        name: 'string',
        maxAmount: 'int',
        validDuration: 'duration',
        bucketDuration: 'duration',
        rateLimitAlgorithm: { enum: ['FIXED_WINDOW', 'ROLLING_WINDOW'] },
        overrides: { list: QUOTA_OVERRIDE },
      },
    },
  },
  minDeduplicationDuration: 'duration',
  redisServerUrl: 'string',
  connectionPoolSize: 'int',
};

const LEVEL = { enum: ['INFO', 'WARNING', 'ERROR'] } as const;

/** Handler params by adapter name (the adapter's config message, proto3 JSON names). */
export const ADAPTER_PARAMS: Readonly<Record<string, Shape>> = {
  denier: {
    status: { obj: { code: 'int', message: 'string', details: 'any' } },
    validDuration: 'duration',
    validUseCount: 'int',
  },
  listchecker: {
    providerUrl: 'string',
    refreshInterval: 'duration',
    ttl: 'duration',
    cachingInterval: 'duration',
    cachingUseCount: 'int',
    overrides: 'stringList',
    entryType: { enum: ['STRINGS', 'CASE_INSENSITIVE_STRINGS', 'IP_ADDRESSES', 'REGEX'] },
    blacklist: 'bool',
  },
  memquota: QUOTA_PARAMS,
  redisquota: QUOTA_PARAMS,
  rbac: { configStoreUrl: 'string', cacheDuration: 'duration' },
  prometheus: {
    metrics: {
      list: {
        obj: {
          namespace: 'string',
          name: 'string',
          instanceName: 'string',
          description: 'string',
          kind: { enum: ['UNSPECIFIED', 'GAUGE', 'COUNTER', 'DISTRIBUTION'] },
          labelNames: 'stringList',
          buckets: {
            obj: {
              explicitBuckets: { obj: { bounds: { list: 'number' } } },
              linearBuckets: { obj: { numFiniteBuckets: 'int', width: 'number', offset: 'number' } },
              exponentialBuckets: {
                obj: { numFiniteBuckets: 'int', growthFactor: 'number', scale: 'number' },
              },
            },
          },
        },
      },
    },
    metricsExpirationPolicy: {
      obj: { metricsExpiryDuration: 'duration', expiryCheckIntervalDuration: 'duration' },
    },
  },
  stdio: {
    logStream: { enum: ['STDERR', 'STDOUT', 'FILE', 'ROTATED_FILE'] },
    severityLevels: { map: LEVEL },
    metricLevel: LEVEL,
    outputLevel: LEVEL,
    outputAsJson: 'bool',
    outputPath: 'string',
    maxMegabytesBeforeRotation: 'int',
    maxDaysBeforeRotation: 'int',
    maxRotatedFiles: 'int',
  },
};

/** Nested shapes of template params (top-level keys are camelized for every template). */
export const TEMPLATE_PARAMS: Readonly<Record<string, Shape>> = {
  metric: { dimensions: ANY_MAP, monitoredResourceDimensions: ANY_MAP },
  logentry: { variables: ANY_MAP, monitoredResourceDimensions: ANY_MAP },
  tracespan: { spanTags: ANY_MAP },
  quota: { dimensions: ANY_MAP },
  authorization: {
    subject: { obj: { user: 'any', groups: 'any', properties: ANY_MAP } },
    action: { obj: { namespace: 'any', service: 'any', method: 'any', path: 'any', properties: ANY_MAP } },
  },
};

/** Handler params of `adapter`, normalized when Keel knows the adapter's config, else as written. */
export function normalizeAdapterParams(adapter: string, params: unknown): unknown {
  const shape = ADAPTER_PARAMS[adapter];
  return shape && isObj(params) ? normalizeShape(params, shape) : params;
}

/** Instance params of `template`: top-level field names camelCase, nested messages per template. */
export function normalizeTemplateParams(template: string, params: unknown): unknown {
  if (!isObj(params)) return params;
  const top: Obj = {};
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) top[camel(k)] = v;
  const shape = TEMPLATE_PARAMS[template];
  if (!shape) return top;
  // Every top-level key is a template field: unknown ones are kept ('any') by normalizeShape.
  return normalizeShape(top, shape);
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** `kind: handler`: the Handler message, then its params by adapter. */
export function normalizeHandler(spec: Obj, shape: Shape): Obj {
  const out = normalizeShape(spec, shape);
  const adapter = str(out.compiledAdapter) || str(out.adapter);
  if (out.params !== undefined) out.params = normalizeAdapterParams(adapter, out.params);
  return out;
}

/** `kind: instance`: the Instance message, then its params by template. */
export function normalizeInstance(spec: Obj, shape: Shape): Obj {
  const out = normalizeShape(spec, shape);
  const template = str(out.compiledTemplate) || str(out.template);
  if (out.params !== undefined) out.params = normalizeTemplateParams(template, out.params);
  return out;
}

/** Legacy kinds: the spec is the params of adapter (or template) `kind`. */
export function normalizeLegacy(kind: string, isTemplate: boolean): (spec: Obj) => Obj {
  return (spec) =>
    (isTemplate ? normalizeTemplateParams(kind, spec) : normalizeAdapterParams(kind, spec)) as Obj;
}
