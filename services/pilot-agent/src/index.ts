export { writeCertFiles } from '@keel/pki';
export { type Agent, type AgentOptions, createAgent } from './agent.js';
export {
  type BootstrapOptions,
  buildBootstrap,
  hostPort,
  SDS_CLUSTER,
  sdsConfig,
  XDS_CLUSTER,
} from './bootstrap.js';
export { applyBootstrapOverride, decodeBootstrapJson } from './bootstrap-check.js';
export { createEnvoyRunner, type EnvoyOptions, envoyArgs } from './envoy.js';
export { buildGrpcBootstrap, SERVER_LISTENER_TEMPLATE } from './grpc-bootstrap.js';
export { buildNode, metadataFromEnv, type ProxyNode, type ProxyType } from './node.js';
export { agentFlags } from './options.js';
export {
  createSdsServer,
  DEFAULT_SECRET,
  ROOT_SECRET,
  SECRET_TYPE_URL,
  type SecretMaterial,
  secretResource,
} from './sds.js';
export { envoyReady, parseAppProbers } from './status.js';
export { createWorkloadCerts } from './workload.js';
