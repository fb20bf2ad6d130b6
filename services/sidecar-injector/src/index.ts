export {
  buildInjector,
  type InjectConfig,
  type Injector,
  type InjectorFiles,
  loadInjector,
  parseInjectConfig,
  parseValues,
} from './config.js';
export { IGNORED_NAMESPACES, type InjectionDecision, injectRequired } from './decision.js';
export { defaultFiles } from './files.js';
export {
  alreadyInjected,
  type InjectOutcome,
  injectPod,
  type PodLike,
  PROXY_CONTAINER,
  readStatus,
  renderSidecar,
  type SidecarSpec,
  type SidecarStatus,
  STATUS_ANNOTATION,
  TLS_MODE_LABEL,
  type WorkloadRef,
} from './inject.js';
export {
  createSidecarInjector,
  MAX_BODY,
  type SidecarInjector,
  type SidecarInjectorOptions,
} from './injector.js';
export { injectorFlags } from './options.js';
export { diffPatch, type InjectionReview, type ReviewOutcome, reviewInjection } from './review.js';
export { injectObject, type ObjectInjection, workloadOfPod } from './workloads.js';
