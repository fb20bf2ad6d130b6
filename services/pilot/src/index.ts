// @keel/pilot public surface: the Pilot server factory and the pure generators other packages may call.
export {
  checkResources,
  edsClusterNames,
  type GenerateStats,
  generateProxyResources,
  referencedRouteNames,
  TYPES,
} from './generate/index.js';
export { buildSubsetKey, parseSubsetKey, type SubsetKey } from './model/names.js';
export { type NodeInput, parseMetadata, parseNode } from './model/proxy.js';
export { buildPushContext, type PushContextOptions } from './model/push-context.js';
export type {
  ConfigEntry,
  ConfigStoreSnapshot,
  Endpoint,
  Locality,
  MeshView,
  NodeMetadata,
  NodeType,
  Protocol,
  Proxy,
  ProxyResources,
  PushContext,
  Resolution,
  Service,
  ServiceInstance,
  ServicePort,
  SidecarScope,
  Workload,
} from './model/types.js';
export { configKey } from './push/builds.js';
export type { PushStatus } from './push/pusher.js';
export {
  ConfigStore,
  mergePushRequests,
  meshViewOf,
  type PushRequest,
  pilotCollections,
  toConfigEntry,
} from './server/config-store.js';
export { type SyncStatus, syncWord } from './server/debug.js';
export { pilotFlags } from './server/options.js';
export { createPilot, type Pilot, type PilotOptions, type PilotPorts } from './server/pilot.js';
