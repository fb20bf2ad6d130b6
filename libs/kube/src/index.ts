export {
  type AdmissionApiVersion,
  type AdmissionDecision,
  type AdmissionHttpRequest,
  type AdmissionHttpResult,
  type AdmissionOperation,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReview,
  type AdmissionStatus,
  type AdmissionUserInfo,
  admissionResponse,
  type GroupVersionKind,
  type GroupVersionResource,
  handleAdmissionHttp,
  type JsonPatchOp,
  parseAdmissionReview,
} from './admission.js';
export {
  createInformer,
  type Informer,
  type InformerEventType,
  type InformerOptions,
  rawListFn,
} from './informer.js';
export {
  apiVersionOf,
  CORE_KINDS,
  type KindInfo,
  KindTable,
  kindPath,
  objectPath,
  parseApiVersion,
} from './kinds.js';
export { electLeader, type LeaderElection, type LeaderElectionOptions } from './leader.js';
export { type KubeRequest, type KubeResponse, kubeRequest } from './request.js';
export {
  type KubeObject,
  type KubeTestServer,
  type KubeTestServerOptions,
  kubeConfigFor,
  type RecordedRequest,
  startKubeTestServer,
  type TokenReviewStatus,
} from './testserver.js';
export {
  type CaBundleReconciler,
  patchWebhookCaBundle,
  reconcileWebhookCaBundle,
  type WebhookCaBundleOptions,
  type WebhookCaBundleResult,
  type WebhookConfigurationKind,
  watchWebhookCaBundle,
} from './webhookca.js';
