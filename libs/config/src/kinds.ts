import {
  normalizeAuthenticationPolicy,
  validateAuthenticationPolicy,
  validateMeshPolicy,
} from './validate/authn.js';
import { normalizeAuthorizationPolicy, validateAuthorizationPolicy } from './validate/authz.js';
import {
  QUOTA_SPEC,
  QUOTA_SPEC_BINDING,
  validateHttpApiSpec,
  validateHttpApiSpecBinding,
  validateQuotaSpec,
  validateQuotaSpecBinding,
} from './validate/client.js';
import type { SpecValidator } from './validate/common.js';
import {
  validateIngress,
  validateK8sConfigMap,
  validateK8sEndpoints,
  validateK8sService,
  validateK8sSpecStatus,
} from './validate/core.js';
import { normalizeHandler, normalizeInstance, normalizeLegacy } from './validate/mixer-normalize.js';
import {
  networkingNormalizer,
  validateDestinationRule,
  validateEnvoyFilter,
  validateGateway,
  validateServiceEntry,
  validateSidecar,
  validateVirtualService,
} from './validate/networking.js';
import {
  ATTRIBUTE_MANIFEST,
  HANDLER,
  INSTANCE,
  RULE,
  validateAdapter,
  validateAttributeManifest,
  validateHandler,
  validateInstance,
  validateRule,
  validateStruct,
  validateTemplate,
} from './validate/policy.js';
import {
  normalizeRbacConfig,
  normalizeServiceRole,
  normalizeServiceRoleBinding,
  validateClusterRbacConfig,
  validateRbacConfig,
  validateServiceRole,
  validateServiceRoleBinding,
} from './validate/rbac.js';
import { normalizeShape } from './validate/shape.js';

/** One config kind: its names on the k8s side and in MCP, its proto type, scope and validator. */
export interface KindInfo {
  kind: string;
  group: string;
  version: string;
  apiVersion: string;
  plural: string;
  /** MCP collection served by Galley (istio/...), or k8s/core/v1/<plural> for core kinds. */
  collection: string;
  /** Galley input collection: k8s/<group>/<version>/<plural>. */
  sourceCollection: string;
  /** Proto full name of the MCP body. */
  typeName: string;
  clusterScoped: boolean;
  /** Which Galley webhook admits it; undefined for core kinds. */
  webhook: 'pilot' | 'mixer' | undefined;
  /** False for kinds Keel parses but Galley does not serve over MCP (ConfigMap, Endpoints, Pods, Nodes). */
  served: boolean;
  validate: SpecValidator;
  /**
   * The normalized spec of a valid one: one spelling per field (camelCase), enum names, durations
   * in google.protobuf.Duration JSON form, no nulls. Absent for kinds served as written.
   */
  normalize?: (spec: Record<string, unknown>) => Record<string, unknown>;
}

export const MESH_CONFIG_COLLECTION = 'istio/mesh/v1alpha1/MeshConfig';
export const SYNTHETIC_SERVICE_ENTRIES_COLLECTION = 'istio/networking/v1alpha3/synthetic/serviceentries';

type Spec = Pick<KindInfo, 'kind' | 'plural' | 'validate'> & Partial<KindInfo>;

function family(group: string, version: string, defaults: Partial<KindInfo>, specs: Spec[]): KindInfo[] {
  const apiVersion = group === '' ? version : `${group}/${version}`;
  const srcGroup = group === '' ? 'core' : group;
  return specs.map((s) => ({
    group,
    version,
    apiVersion,
    clusterScoped: false,
    webhook: undefined,
    served: true,
    sourceCollection: `k8s/${srcGroup}/${version}/${s.plural}`,
    collection: '',
    typeName: '',
    ...defaults,
    ...s,
  }));
}

const NET = 'istio.networking.v1alpha3';
const networking = family('networking.istio.io', 'v1alpha3', { webhook: 'pilot' }, [
  {
    kind: 'VirtualService',
    plural: 'virtualservices',
    typeName: `${NET}.VirtualService`,
    validate: validateVirtualService,
  },
  {
    kind: 'DestinationRule',
    plural: 'destinationrules',
    typeName: `${NET}.DestinationRule`,
    validate: validateDestinationRule,
  },
  { kind: 'Gateway', plural: 'gateways', typeName: `${NET}.Gateway`, validate: validateGateway },
  {
    kind: 'ServiceEntry',
    plural: 'serviceentries',
    typeName: `${NET}.ServiceEntry`,
    validate: validateServiceEntry,
  },
  { kind: 'Sidecar', plural: 'sidecars', typeName: `${NET}.Sidecar`, validate: validateSidecar },
  {
    kind: 'EnvoyFilter',
    plural: 'envoyfilters',
    typeName: `${NET}.EnvoyFilter`,
    validate: validateEnvoyFilter,
  },
]).map((k) => ({
  ...k,
  collection: `istio/networking/v1alpha3/${k.plural}`,
  normalize: networkingNormalizer(k.kind),
}));

const AUTHN = 'istio.authentication.v1alpha1.Policy';
const authentication = family(
  'authentication.istio.io',
  'v1alpha1',
  { webhook: 'pilot', typeName: AUTHN, normalize: normalizeAuthenticationPolicy },
  [
    { kind: 'Policy', plural: 'policies', validate: validateAuthenticationPolicy },
    { kind: 'MeshPolicy', plural: 'meshpolicies', clusterScoped: true, validate: validateMeshPolicy },
  ],
).map((k) => ({ ...k, collection: `istio/authentication/v1alpha1/${k.plural}` }));

const RBAC = 'istio.rbac.v1alpha1';
const rbac = family('rbac.istio.io', 'v1alpha1', { webhook: 'pilot' }, [
  {
    kind: 'ServiceRole',
    plural: 'serviceroles',
    typeName: `${RBAC}.ServiceRole`,
    validate: validateServiceRole,
    normalize: normalizeServiceRole,
  },
  {
    kind: 'ServiceRoleBinding',
    plural: 'servicerolebindings',
    typeName: `${RBAC}.ServiceRoleBinding`,
    sourceCollection: 'k8s/rbac.istio.io/v1alpha1/policy',
    validate: validateServiceRoleBinding,
    normalize: normalizeServiceRoleBinding,
  },
  {
    kind: 'RbacConfig',
    plural: 'rbacconfigs',
    typeName: `${RBAC}.RbacConfig`,
    validate: validateRbacConfig,
    normalize: normalizeRbacConfig,
  },
  {
    kind: 'ClusterRbacConfig',
    plural: 'clusterrbacconfigs',
    typeName: `${RBAC}.RbacConfig`,
    clusterScoped: true,
    validate: validateClusterRbacConfig,
    normalize: normalizeRbacConfig,
  },
]).map((k) => ({ ...k, collection: `istio/rbac/v1alpha1/${k.plural}` }));

const security = family('security.istio.io', 'v1beta1', { webhook: 'pilot' }, [
  {
    kind: 'AuthorizationPolicy',
    plural: 'authorizationpolicies',
    typeName: 'istio.security.v1beta1.AuthorizationPolicy',
    collection: 'istio/security/v1beta1/authorizationpolicies',
    validate: validateAuthorizationPolicy,
    normalize: normalizeAuthorizationPolicy,
  },
]);

const CFG = 'config.istio.io';
const POL = 'istio.policy.v1beta1';
const CLIENT = 'istio.mixer.v1.config.client';
const STRUCT = 'google.protobuf.Struct';
const mixer = family(CFG, 'v1alpha2', { webhook: 'mixer' }, [
  {
    kind: 'rule',
    plural: 'rules',
    typeName: `${POL}.Rule`,
    validate: validateRule,
    normalize: (s) => normalizeShape(s, RULE),
  },
  {
    kind: 'instance',
    plural: 'instances',
    typeName: `${POL}.Instance`,
    validate: validateInstance,
    normalize: (s) => normalizeInstance(s, INSTANCE),
  },
  {
    kind: 'handler',
    plural: 'handlers',
    typeName: `${POL}.Handler`,
    validate: validateHandler,
    normalize: (s) => normalizeHandler(s, HANDLER),
  },
  {
    kind: 'attributemanifest',
    plural: 'attributemanifests',
    typeName: `${POL}.AttributeManifest`,
    validate: validateAttributeManifest,
    normalize: (s) => normalizeShape(s, ATTRIBUTE_MANIFEST),
  },
]).map((k) => ({ ...k, collection: `istio/policy/v1beta1/${k.plural}` }));

const mixerInfo = family(CFG, 'v1alpha2', { webhook: 'mixer', typeName: STRUCT }, [
  { kind: 'adapter', plural: 'adapters', validate: validateAdapter },
  { kind: 'template', plural: 'templates', validate: validateTemplate },
]).map((k) => ({ ...k, collection: `istio/config/v1alpha2/${k.plural}` }));

const mixerClient = family(CFG, 'v1alpha2', { webhook: 'pilot' }, [
  {
    kind: 'HTTPAPISpec',
    plural: 'httpapispecs',
    typeName: `${CLIENT}.HTTPAPISpec`,
    collection: 'istio/config/v1alpha2/httpapispecs',
    validate: validateHttpApiSpec,
  },
  {
    kind: 'HTTPAPISpecBinding',
    plural: 'httpapispecbindings',
    typeName: `${CLIENT}.HTTPAPISpecBinding`,
    collection: 'istio/config/v1alpha2/httpapispecbindings',
    validate: validateHttpApiSpecBinding,
  },
  {
    kind: 'QuotaSpec',
    plural: 'quotaspecs',
    typeName: `${CLIENT}.QuotaSpec`,
    collection: 'istio/mixer/v1/config/client/quotaspecs',
    validate: validateQuotaSpec,
    normalize: (s) => normalizeShape(s, QUOTA_SPEC),
  },
  {
    kind: 'QuotaSpecBinding',
    plural: 'quotaspecbindings',
    typeName: `${CLIENT}.QuotaSpecBinding`,
    collection: 'istio/mixer/v1/config/client/quotaspecbindings',
    validate: validateQuotaSpecBinding,
    normalize: (s) => normalizeShape(s, QUOTA_SPEC_BINDING),
  },
]);

/** Legacy per-adapter/per-template CRDs: plural -> kind (the adapter or template name). */
const LEGACY: Record<string, string> = {
  apikeys: 'apikey',
  authorizations: 'authorization',
  bypasses: 'bypass',
  checknothings: 'checknothing',
  circonuses: 'circonus',
  cloudwatches: 'cloudwatch',
  deniers: 'denier',
  dogstatsds: 'dogstatsd',
  edges: 'edge',
  fluentds: 'fluentd',
  kuberneteses: 'kubernetes',
  kubernetesenvs: 'kubernetesenv',
  listcheckers: 'listchecker',
  listentries: 'listentry',
  logentries: 'logentry',
  memquotas: 'memquota',
  metrics: 'metric',
  noops: 'noop',
  opas: 'opa',
  prometheuses: 'prometheus',
  quotas: 'quota',
  rbacs: 'rbac',
  redisquotas: 'redisquota',
  reportnothings: 'reportnothing',
  signalfxs: 'signalfx',
  solarwindses: 'solarwinds',
  stackdrivers: 'stackdriver',
  statsds: 'statsd',
  stdios: 'stdio',
  tracespans: 'tracespan',
  zipkins: 'zipkin',
};
/** The legacy kinds that are templates (instances); the others are adapters (handlers). */
export const LEGACY_TEMPLATES: ReadonlySet<string> = new Set([
  'apikey',
  'authorization',
  'checknothing',
  'edge',
  'kubernetes',
  'listentry',
  'logentry',
  'metric',
  'quota',
  'reportnothing',
  'tracespan',
]);
const legacy = family(
  CFG,
  'v1alpha2',
  { webhook: 'mixer', typeName: STRUCT },
  Object.entries(LEGACY).map(([plural, kind]) => ({
    kind,
    plural,
    validate: validateStruct,
    normalize: normalizeLegacy(kind, LEGACY_TEMPLATES.has(kind)),
  })),
).map((k) => ({ ...k, collection: `istio/config/v1alpha2/legacy/${k.plural}` }));

const core = family('', 'v1', {}, [
  { kind: 'Service', plural: 'services', validate: validateK8sService },
  { kind: 'Endpoints', plural: 'endpoints', served: false, validate: validateK8sEndpoints },
  { kind: 'Pod', plural: 'pods', served: false, validate: validateK8sSpecStatus },
  { kind: 'Namespace', plural: 'namespaces', clusterScoped: true, validate: validateK8sSpecStatus },
  { kind: 'Node', plural: 'nodes', clusterScoped: true, served: false, validate: validateK8sSpecStatus },
  { kind: 'ConfigMap', plural: 'configmaps', served: false, validate: validateK8sConfigMap },
]).map((k) => ({ ...k, collection: `k8s/core/v1/${k.plural}`, typeName: `k8s.io.api.core.v1.${k.kind}` }));

/** Kubernetes Ingress: read as a source only; Galley converts it to a Gateway and VirtualServices. */
const ingress = ['extensions', 'networking.k8s.io'].flatMap((group) =>
  family(
    group,
    'v1beta1',
    {
      served: false,
      typeName: `k8s.io.api.${group === 'extensions' ? 'extensions' : 'networking'}.v1beta1.Ingress`,
    },
    [{ kind: 'Ingress', plural: 'ingresses', validate: validateIngress }],
  ).map((k) => ({ ...k, collection: k.sourceCollection })),
);

/** Every kind Keel knows, Istio kinds first. */
export const kinds: readonly KindInfo[] = Object.freeze([
  ...networking,
  ...authentication,
  ...rbac,
  ...security,
  ...mixer,
  ...mixerInfo,
  ...mixerClient,
  ...legacy,
  ...ingress,
  ...core,
]);

const byApiKind = new Map(kinds.map((k) => [`${k.apiVersion}|${k.kind}`, k]));
const byCollection = new Map(kinds.map((k) => [k.collection, k]));

/** The kind for an apiVersion/kind pair, or undefined. */
export function kindFor(apiVersion: string, kind: string): KindInfo | undefined {
  return byApiKind.get(`${apiVersion}|${kind}`);
}

/** The kind served under an MCP collection (or a core k8s/core/v1 collection), or undefined. */
export function kindByCollection(collection: string): KindInfo | undefined {
  return byCollection.get(collection);
}

/** True for core Kubernetes kinds, whose body is the object minus apiVersion/kind/metadata. */
export function isCoreKind(k: KindInfo): boolean {
  return k.group === '';
}

/** Every istio/... collection Galley serves in its default snapshot (incl. the mesh config), sorted. */
export function istioCollections(): string[] {
  const list = kinds.filter((k) => !isCoreKind(k) && k.served).map((k) => k.collection);
  return [...list, MESH_CONFIG_COLLECTION].sort();
}

/** The core collections Keel reads from Kubernetes: services, endpoints, pods, nodes, namespaces. */
export function coreCollections(): string[] {
  return kinds.filter((k) => isCoreKind(k) && k.kind !== 'ConfigMap').map((k) => k.collection);
}
