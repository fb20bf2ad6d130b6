export { type Caller, createAuthenticator, tokenFileVerifier, tokenReviewVerifier } from './authn.js';
export { loadPluggedCa, loadSelfSignedCa, rootNeedsRotation, rotateSelfSignedCa } from './authority.js';
export { type Citadel, type CitadelOptions, createCitadel } from './citadel.js';
export { citadelFlags } from './options.js';
export {
  createSecretController,
  namespaceEnabled,
  SA_ANNOTATION,
  SECRET_TYPE,
  secretName,
} from './secrets.js';
export { requestedTtl } from './server.js';
export { type CaStore, dirStore, secretStore } from './store.js';
