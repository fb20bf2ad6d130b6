// The normalized spec types of the Mixer kinds (see validate/mixer-normalize.ts for what is normalized):
// proto3 JSON names only, enums by name, durations as google.protobuf.Duration JSON ("90s", "1.500s").

type Level = 'INFO' | 'WARNING' | 'ERROR';

/** Params of the quota adapters (memquota, redisquota). */
export interface QuotaAdapterParams {
  quotas?: Array<{
    name: string;
    maxAmount?: number;
    validDuration?: string;
    bucketDuration?: string;
    rateLimitAlgorithm?: 'FIXED_WINDOW' | 'ROLLING_WINDOW';
    overrides?: Array<{ dimensions?: Record<string, string>; maxAmount?: number; validDuration?: string }>;
  }>;
  minDeduplicationDuration?: string;
  redisServerUrl?: string;
  connectionPoolSize?: number;
}

/** Handler params by adapter, for the adapters Keel runs. */
export interface AdapterParams {
  denier: { status?: { code?: number; message?: string }; validDuration?: string; validUseCount?: number };
  listchecker: {
    providerUrl?: string;
    refreshInterval?: string;
    ttl?: string;
    cachingInterval?: string;
    cachingUseCount?: number;
    overrides?: string[];
    entryType?: 'STRINGS' | 'CASE_INSENSITIVE_STRINGS' | 'IP_ADDRESSES' | 'REGEX';
    blacklist?: boolean;
  };
  memquota: QuotaAdapterParams;
  redisquota: QuotaAdapterParams;
  rbac: { configStoreUrl?: string; cacheDuration?: string };
  prometheus: {
    metrics?: Array<{
      namespace?: string;
      name?: string;
      instanceName?: string;
      description?: string;
      kind?: 'UNSPECIFIED' | 'GAUGE' | 'COUNTER' | 'DISTRIBUTION';
      labelNames?: string[];
      buckets?: {
        explicitBuckets?: { bounds?: number[] };
        linearBuckets?: { numFiniteBuckets?: number; width?: number; offset?: number };
        exponentialBuckets?: { numFiniteBuckets?: number; growthFactor?: number; scale?: number };
      };
    }>;
    metricsExpirationPolicy?: { metricsExpiryDuration?: string; expiryCheckIntervalDuration?: string };
  };
  stdio: {
    logStream?: 'STDERR' | 'STDOUT' | 'FILE' | 'ROTATED_FILE';
    severityLevels?: Record<string, Level>;
    metricLevel?: Level;
    outputLevel?: Level;
    outputAsJson?: boolean;
    outputPath?: string;
    maxMegabytesBeforeRotation?: number;
    maxDaysBeforeRotation?: number;
    maxRotatedFiles?: number;
  };
}

/** An expression (CEXL text) or a literal, as written. */
type Expr = unknown;

/** Instance params by template (camelCase field names; map keys as written). */
export interface TemplateParams {
  metric: {
    value?: Expr;
    dimensions?: Record<string, Expr>;
    monitoredResourceType?: Expr;
    monitoredResourceDimensions?: Record<string, Expr>;
  };
  logentry: {
    variables?: Record<string, Expr>;
    timestamp?: Expr;
    severity?: Expr;
    monitoredResourceType?: Expr;
    monitoredResourceDimensions?: Record<string, Expr>;
  };
  tracespan: { spanTags?: Record<string, Expr> } & Record<string, Expr>;
  quota: { dimensions?: Record<string, Expr> };
  listentry: { value?: Expr };
  authorization: {
    subject?: { user?: Expr; groups?: Expr; properties?: Record<string, Expr> };
    action?: {
      namespace?: Expr;
      service?: Expr;
      method?: Expr;
      path?: Expr;
      properties?: Record<string, Expr>;
    };
  };
  checknothing: Record<string, never>;
  reportnothing: Record<string, never>;
}

export interface HandlerSpec {
  compiledAdapter?: string;
  adapter?: string;
  /** Normalized per AdapterParams for the adapters Keel runs, as written for the others. */
  params?: Record<string, unknown>;
  connection?: { address?: string; timeout?: string; authentication?: Record<string, unknown> };
}

export interface InstanceSpec {
  compiledTemplate?: string;
  template?: string;
  /** Top-level field names camelCase; nested per TemplateParams. */
  params?: Record<string, unknown>;
  attributeBindings?: Record<string, string>;
}

interface HeaderOperation {
  name: string;
  values?: string[];
  operation?: 'REPLACE' | 'REMOVE' | 'APPEND';
}

export interface RuleSpec {
  match?: string;
  actions?: Array<{ handler: string; instances?: string[]; name?: string }>;
  requestHeaderOperations?: HeaderOperation[];
  responseHeaderOperations?: HeaderOperation[];
  sampling?: {
    random?: {
      attributeExpression?: string;
      percentSampled?: { numerator?: number; denominator?: 'HUNDRED' | 'TEN_THOUSAND' };
      useIndependentRandomness?: boolean;
    };
    rateLimit?: { samplingDuration?: string; maxUnsampledEntries?: number; samplingRate?: number };
  };
}

export interface AttributeManifestSpec {
  revision?: string;
  name?: string;
  attributes?: Record<string, { description?: string; valueType?: string }>;
}

type StringMatch = { exact?: string; prefix?: string; suffix?: string; regex?: string };

export interface QuotaSpecSpec {
  rules?: Array<{
    match?: Array<{ clause?: Record<string, StringMatch> }>;
    quotas?: Array<{ quota: string; charge?: number }>;
  }>;
}

export interface QuotaSpecBindingSpec {
  services?: Array<{
    name?: string;
    namespace?: string;
    domain?: string;
    service?: string;
    labels?: Record<string, string>;
  }>;
  quotaSpecs?: Array<{ name: string; namespace?: string }>;
}

/** The normalized spec type of each Mixer kind, by kind name (legacy kinds: their params). */
export interface MixerKindSpecs {
  handler: HandlerSpec;
  instance: InstanceSpec;
  rule: RuleSpec;
  attributemanifest: AttributeManifestSpec;
  QuotaSpec: QuotaSpecSpec;
  QuotaSpecBinding: QuotaSpecBindingSpec;
  denier: AdapterParams['denier'];
  listchecker: AdapterParams['listchecker'];
  memquota: AdapterParams['memquota'];
  redisquota: AdapterParams['redisquota'];
  rbac: AdapterParams['rbac'];
  prometheus: AdapterParams['prometheus'];
  stdio: AdapterParams['stdio'];
  metric: TemplateParams['metric'];
  logentry: TemplateParams['logentry'];
  tracespan: TemplateParams['tracespan'];
  quota: TemplateParams['quota'];
  listentry: TemplateParams['listentry'];
  authorization: TemplateParams['authorization'];
}
