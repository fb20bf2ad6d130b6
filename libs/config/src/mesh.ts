import { parseDocument } from 'yaml';
import { ErrorCode, sourceError } from './errors.js';
import type { ConfigError, Result } from './types.js';
import { checkShape, type FieldType, isObj, normalizeShape, type Shape } from './validate/shape.js';

/** istio.mesh.v1alpha1.ProxyConfig (fields Keel uses; proto3 JSON names). */
export interface ProxyConfig {
  configPath: string;
  binaryPath: string;
  serviceCluster: string;
  drainDuration: string;
  parentShutdownDuration: string;
  discoveryAddress: string;
  connectTimeout: string;
  proxyAdminPort: number;
  controlPlaneAuthPolicy: 'NONE' | 'MUTUAL_TLS';
  concurrency: number;
  statNameLength: number;
  zipkinAddress?: string;
  statsdUdpAddress?: string;
  envoyMetricsServiceAddress?: string;
  availabilityZone?: string;
  customConfigFile?: string;
  proxyBootstrapTemplatePath?: string;
  interceptionMode?: 'REDIRECT' | 'TPROXY';
  tracing?: Record<string, unknown>;
  [extra: string]: unknown;
}

/** One `configSources` entry: where Pilot reads config (MCP address or fs://). */
export interface ConfigSource {
  address: string;
  tlsSettings?: Record<string, unknown>;
  subscribedResources?: string[];
}

/** istio.mesh.v1alpha1.MeshConfig (fields Keel uses; unknown-to-Keel but valid 1.4 fields pass through). */
export interface MeshConfig {
  /**
   * Keel: Helm's `global.controlPlaneSecurityEnabled` as a mesh field. When absent,
   * `defaultConfig.controlPlaneAuthPolicy: MUTUAL_TLS` (what that Helm value writes) turns it on.
   */
  controlPlaneSecurityEnabled?: boolean;
  mixerCheckServer?: string;
  mixerReportServer?: string;
  disablePolicyChecks: boolean;
  disableMixerHttpReports?: boolean;
  policyCheckFailOpen: boolean;
  sidecarToTelemetrySessionAffinity?: boolean;
  proxyListenPort: number;
  proxyHttpPort?: number;
  connectTimeout: string;
  protocolDetectionTimeout: string;
  ingressClass?: string;
  ingressService: string;
  ingressControllerMode?: 'OFF' | 'DEFAULT' | 'STRICT';
  enableTracing: boolean;
  accessLogFile: string;
  accessLogFormat?: string;
  accessLogEncoding: 'TEXT' | 'JSON';
  enableEnvoyAccessLogService?: boolean;
  defaultConfig: ProxyConfig;
  outboundTrafficPolicy: { mode: 'ALLOW_ANY' | 'REGISTRY_ONLY' };
  enableClientSidePolicyCheck?: boolean;
  sdsUdsPath?: string;
  configSources?: ConfigSource[];
  enableAutoMtls: boolean;
  trustDomain?: string;
  trustDomainAliases?: string[];
  defaultServiceExportTo: string[];
  defaultVirtualServiceExportTo: string[];
  defaultDestinationRuleExportTo: string[];
  rootNamespace: string;
  localityLbSetting?: Record<string, unknown>;
  dnsRefreshRate: string;
  reportBatchMaxEntries?: number;
  reportBatchMaxTime?: string;
  h2UpgradePolicy?: 'DO_NOT_UPGRADE' | 'UPGRADE';
  [extra: string]: unknown;
}

/** The code defaults of MeshConfig and its default ProxyConfig (pkg/config/mesh/mesh.go); a fresh object each call. */
export function meshConfigDefaults(): MeshConfig {
  return {
    proxyListenPort: 15001,
    connectTimeout: '1s',
    protocolDetectionTimeout: '100ms',
    ingressService: 'istio-ingressgateway',
    enableTracing: true,
    accessLogFile: '/dev/stdout',
    accessLogEncoding: 'TEXT',
    disablePolicyChecks: true,
    policyCheckFailOpen: false,
    rootNamespace: 'istio-system',
    outboundTrafficPolicy: { mode: 'ALLOW_ANY' },
    dnsRefreshRate: '5s',
    enableAutoMtls: false,
    defaultServiceExportTo: ['*'],
    defaultVirtualServiceExportTo: ['*'],
    defaultDestinationRuleExportTo: ['*'],
    defaultConfig: {
      configPath: '/etc/istio/proxy',
      binaryPath: '/usr/local/bin/envoy',
      serviceCluster: 'istio-proxy',
      drainDuration: '45s',
      parentShutdownDuration: '60s',
      discoveryAddress: 'istio-pilot:15010',
      connectTimeout: '1s',
      proxyAdminPort: 15000,
      controlPlaneAuthPolicy: 'NONE',
      concurrency: 0,
      statNameLength: 189,
    },
  };
}

const TLS_SETTINGS: FieldType = {
  obj: {
    mode: { enum: ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'] },
    clientCertificate: 'string',
    privateKey: 'string',
    caCertificates: 'string',
    credentialName: 'string',
    subjectAltNames: 'stringList',
    sni: 'string',
  },
};

const PROXY_CONFIG: Shape = {
  configPath: 'string',
  binaryPath: 'string',
  serviceCluster: 'string',
  drainDuration: 'duration',
  parentShutdownDuration: 'duration',
  discoveryAddress: 'string',
  discoveryRefreshDelay: 'duration',
  zipkinAddress: 'string',
  connectTimeout: 'duration',
  statsdUdpAddress: 'string',
  envoyMetricsServiceAddress: 'string',
  envoyMetricsService: 'struct',
  envoyAccessLogService: 'struct',
  proxyAdminPort: 'int',
  availabilityZone: 'string',
  controlPlaneAuthPolicy: { enum: ['NONE', 'MUTUAL_TLS', 'INHERIT'] },
  customConfigFile: 'string',
  statNameLength: 'int',
  concurrency: 'int',
  proxyBootstrapTemplatePath: 'string',
  interceptionMode: { enum: ['REDIRECT', 'TPROXY'] },
  tracing: 'struct',
  sds: 'struct',
};

const MESH_CONFIG: Shape = {
  controlPlaneSecurityEnabled: 'bool',
  mixerCheckServer: 'string',
  mixerReportServer: 'string',
  disablePolicyChecks: 'bool',
  disableMixerHttpReports: 'bool',
  policyCheckFailOpen: 'bool',
  sidecarToTelemetrySessionAffinity: 'bool',
  proxyListenPort: 'int',
  proxyHttpPort: 'int',
  connectTimeout: 'duration',
  protocolDetectionTimeout: 'duration',
  tcpKeepalive: 'struct',
  ingressClass: 'string',
  ingressService: 'string',
  ingressControllerMode: { enum: ['UNSPECIFIED', 'OFF', 'DEFAULT', 'STRICT'] },
  authPolicy: { enum: ['NONE', 'MUTUAL_TLS'] },
  rdsRefreshDelay: 'duration',
  enableTracing: 'bool',
  accessLogFile: 'string',
  accessLogFormat: 'string',
  accessLogEncoding: { enum: ['TEXT', 'JSON'] },
  enableEnvoyAccessLogService: 'bool',
  defaultConfig: { obj: PROXY_CONFIG },
  mixerAddress: 'string',
  outboundTrafficPolicy: { obj: { mode: { enum: ['REGISTRY_ONLY', 'ALLOW_ANY'] } } },
  enableClientSidePolicyCheck: 'bool',
  sdsUdsPath: 'string',
  sdsRefreshDelay: 'duration',
  configSources: {
    list: { obj: { address: 'string', tlsSettings: TLS_SETTINGS, subscribedResources: 'stringList' } },
  },
  enableAutoMtls: 'bool',
  enableSdsTokenMount: 'bool',
  sdsUseK8sSaJwt: 'bool',
  trustDomain: 'string',
  trustDomainAliases: 'stringList',
  defaultServiceExportTo: 'stringList',
  defaultVirtualServiceExportTo: 'stringList',
  defaultDestinationRuleExportTo: 'stringList',
  rootNamespace: 'string',
  localityLbSetting: 'struct',
  dnsRefreshRate: 'duration',
  disableReportBatch: 'bool',
  reportBatchMaxEntries: 'int',
  reportBatchMaxTime: 'duration',
  h2UpgradePolicy: { enum: ['DO_NOT_UPGRADE', 'UPGRADE'] },
  inboundClusterStatName: 'string',
  outboundClusterStatName: 'string',
  certificates: { list: { obj: { secretName: 'string', dnsNames: 'stringList' } } },
  thriftConfig: 'struct',
};

function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Copies an object with snake_case keys renamed to camelCase (one level). */
function camelKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v]));
}

/**
 * Control-plane security (Pilot 15011, Galley MCP and the mixers' 15004 over mTLS): the explicit
 * `controlPlaneSecurityEnabled`, else `defaultConfig.controlPlaneAuthPolicy == MUTUAL_TLS`.
 */
export function controlPlaneSecurityEnabled(mesh: MeshConfig): boolean {
  return mesh.controlPlaneSecurityEnabled ?? mesh.defaultConfig.controlPlaneAuthPolicy === 'MUTUAL_TLS';
}

/**
 * Parses mesh config YAML and merges it over meshConfigDefaults(): top-level fields replace the
 * defaults, `defaultConfig` is merged field by field. Unknown fields and wrong types are errors.
 */
export function parseMeshConfig(yamlText: string, file?: string): Result<MeshConfig, ConfigError[]> {
  const src = file === undefined ? {} : { file };
  const doc = parseDocument(yamlText);
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => sourceError(ErrorCode.YAML_SYNTAX, e.message.split('\n')[0] ?? '', src)),
    };
  }
  const raw: unknown = doc.toJS() ?? {};
  if (!isObj(raw))
    return {
      ok: false,
      errors: [sourceError(ErrorCode.INVALID_MESH_CONFIG, 'mesh config must be an object', src)],
    };
  const fieldErrs: { field?: string; message: string }[] = [];
  checkShape(raw, MESH_CONFIG, '', fieldErrs);
  if (fieldErrs.length > 0) {
    return {
      ok: false,
      errors: fieldErrs.map((fe) => ({
        ...sourceError(ErrorCode.INVALID_MESH_CONFIG, fe.message, src),
        ...(fe.field ? { field: fe.field } : {}),
      })),
    };
  }
  // One spelling per field and one duration form (google.protobuf.Duration JSON), as for every kind.
  const given = normalizeShape(raw, MESH_CONFIG);
  const defaults = meshConfigDefaults();
  const merged: MeshConfig = { ...defaults };
  for (const [k, v] of Object.entries(given)) if (v !== null && v !== undefined) merged[k] = v;
  const proxy = isObj(given.defaultConfig) ? camelKeys(given.defaultConfig) : {};
  merged.defaultConfig = { ...defaults.defaultConfig };
  for (const [k, v] of Object.entries(proxy)) if (v !== null && v !== undefined) merged.defaultConfig[k] = v;
  return { ok: true, value: merged };
}
