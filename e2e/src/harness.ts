// The e2e harness: real service processes, real grpc-js backends and proxyless xDS clients.
export {
  type BackendSpec,
  type Backends,
  bootstrapConfig,
  type CallResult,
  type CallTally,
  type EchoReply,
  type EchoRequest,
  echoClientConstructor,
  echoDefinition,
  freePortOn,
  type NodeOptions,
  nodeIdFor,
  startBackends,
  type XdsEchoClient,
  xdsClient,
} from '@keel/local';
export { Recorder, recordSubject } from './events.js';
export {
  type ReviewsVsOptions,
  reviewsVs,
  type SyncEntry,
  splitOutReviewsVs,
  syncEntry,
  withoutEndpoint,
} from './fixtures.js';
export { copyLocalMesh, LOCAL_MESH_PORT, localMesh, REVIEWS_PODS } from './mesh.js';
export {
  type GalleyProcess,
  type GalleyStartOptions,
  metricValue,
  type PilotProcess,
  type PilotStartOptions,
  type ServiceProcess,
  startGalley,
  startPilot,
} from './processes.js';
export { galleyCollections, recordingSink } from './sink.js';
