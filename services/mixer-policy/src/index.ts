// @keel/mixer-policy public surface: the server factory, the engine and the pure pieces tests and bench use.
export { ADAPTERS, CHECK_TEMPLATES, QUOTA_TEMPLATES } from './adapters/index.js';
export { fixedWindow, QUOTA_BUCKET, rollingWindow } from './adapters/kvquota.js';
export { Code } from './adapters/types.js';
export { type ConfigIssue, compilePolicy, emptyConfig, type PolicyConfig } from './config/compile.js';
export { type PolicyResource, policyResource } from './config/resources.js';
export { extAuthzResponse, mixerResponse } from './grpc.js';
export { mixerPolicyFlags } from './options.js';
export { DecisionCache } from './runtime/cache.js';
export { deniedBody, PolicyEngine, type Verdict } from './runtime/engine.js';
export { bagFromCheckRequest, principalOf } from './runtime/extauthz-bag.js';
export { KubeIndex } from './runtime/kubeenv.js';
export { codeName, httpStatusFromCode } from './runtime/status.js';
export { createMixerPolicy, type MixerPolicy, type MixerPolicyOptions, policyCollections } from './server.js';
