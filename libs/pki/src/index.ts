export {
  CA_SERVICE,
  caServiceClient,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from './api.js';
export {
  type CaMaterial,
  CertificateAuthority,
  type IssuedCertificate,
  type IssueRequest,
  validateCaMaterial,
} from './ca.js';
export {
  buildCertificate,
  type CertificateSpec,
  createSelfSignedCa,
  fingerprint,
  type Issuer,
  issuerFrom,
  keyIdOf,
} from './cert.js';
export { CaClient, type CaClientOptions, type CaRequest } from './client.js';
export {
  type ControlPlaneSecurity,
  type ControlPlaneSecurityInput,
  type ControlPlaneTls,
  type ControlPlaneTlsFlags,
  type ControlPlaneTlsInput,
  controlPlaneCertDir,
  controlPlaneTls,
  controlPlaneTlsFromFlags,
  DEFAULT_CERT_DIR,
} from './control-plane.js';
export { type CsrOptions, createCsr, MAX_CSR_BYTES, type ParsedCsr, parseCsr } from './csr.js';
export type { NameSpec, SanSpec } from './extensions.js';
export {
  describeKey,
  generateKey,
  type KeyAlgorithm,
  type KeySpec,
  loadPrivateKey,
  privateKeyPem,
  spkiDer,
} from './keys.js';
export {
  type CertDirMaterial,
  certDirFiles,
  checkPeer,
  type MtlsClient,
  type MtlsFiles,
  type MtlsServer,
  mtlsChannel,
  mtlsServerCredentials,
  type PeerPolicy,
  spiffeInterceptor,
  writeCertFiles,
} from './mtls.js';
export { type PemBlock, pemDecodeAll, pemEncode, splitCertificates } from './pem.js';
export { MemoryCertificateProvider } from './provider.js';
export {
  parseSpiffeId,
  SPIFFE_SCHEME,
  type SpiffeIdentity,
  spiffeId,
  spiffeIdsOf,
  subjectAltNames,
} from './spiffe.js';
