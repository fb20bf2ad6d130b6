export {
  type DeltaResponse,
  type DeltaState,
  deltaAnswer,
  type NodeStatus,
  SnapshotCache,
  type SotwResponse,
} from './cache.js';
export {
  makeResource,
  RepeatedResource,
  shortHash,
  versionOf,
  type XdsResource,
} from './resource.js';
export { createXdsServer, type XdsServer, type XdsServerOptions } from './server.js';
export type { NackInfo, StreamInfo, TypeStatus, XdsCallbacks, XdsStats } from './session.js';
export { edsServiceName, referencedRouteNames, Snapshot, type SnapshotOptions } from './snapshot.js';
export type {
  DeltaRequest,
  ErrorDetail,
  NodeInfo,
  SotwRequest,
} from './wire.js';
