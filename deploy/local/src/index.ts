export {
  type BackendSpec,
  type Backends,
  type EchoReply,
  type EchoRequest,
  echoClientConstructor,
  echoDefinition,
  freePortOn,
  startBackends,
} from './backends.js';
export { LOCAL_PORT, LOCAL_WORKLOADS, runSplitDemo } from './demo.js';
export {
  bootstrapConfig,
  type CallResult,
  type CallTally,
  type NodeOptions,
  nodeIdFor,
  type XdsEchoClient,
  xdsClient,
} from './mesh-client.js';
export { DEFAULT_PORTS, type LocalPorts, nodeOptions, startLocalPlane } from './runner.js';
