export { ErrorCode, formatError, resourceError, sourceError } from './errors.js';
export {
  coreCollections,
  isCoreKind,
  istioCollections,
  type KindInfo,
  kindByCollection,
  kindFor,
  kinds,
  MESH_CONFIG_COLLECTION,
  SYNTHETIC_SERVICE_ENTRIES_COLLECTION,
} from './kinds.js';
export {
  checkLimits,
  DEFAULT_MAX_RESOURCE_BYTES,
  DEFAULT_MAX_RESOURCE_DEPTH,
  defaultLimits,
  type ResourceLimits,
} from './limits.js';
export {
  type ConfigSource,
  controlPlaneSecurityEnabled,
  type MeshConfig,
  meshConfigDefaults,
  type ProxyConfig,
  parseMeshConfig,
} from './mesh.js';
export type * from './mixer-specs.js';
export {
  type ParseResult,
  parseDirectory,
  parseDocuments,
  parseFile,
  parsePaths,
  toResource,
} from './parse.js';
export type * from './specs.js';
export type { ConfigError, ObjectMeta, Resource, Result, SourceRef } from './types.js';
export { validateAuthenticationPolicy, validateMeshPolicy } from './validate/authn.js';
export { validateAuthorizationPolicy } from './validate/authz.js';
export {
  validateHttpApiSpec,
  validateHttpApiSpecBinding,
  validateQuotaSpec,
  validateQuotaSpecBinding,
} from './validate/client.js';
export type { FieldError, SpecValidator } from './validate/common.js';
export {
  validateDestinationRule,
  validateEnvoyFilter,
  validateGateway,
  validateServiceEntry,
  validateSidecar,
  validateVirtualService,
} from './validate/networking.js';
export {
  validateAdapter,
  validateAttributeManifest,
  validateHandler,
  validateInstance,
  validateRule,
  validateStruct,
  validateTemplate,
} from './validate/policy.js';
export {
  validateClusterRbacConfig,
  validateRbacConfig,
  validateServiceRole,
  validateServiceRoleBinding,
} from './validate/rbac.js';
export {
  resourceKey,
  type ValidateOptions,
  validateResource,
  validateResources,
} from './validate/resource.js';
