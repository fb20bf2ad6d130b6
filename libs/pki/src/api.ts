import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS } from '@keel/proto';

/** `istio.v1.auth.IstioCertificateService`, the CA API (proto/istio/v1/auth/istioca.proto). */
export const CA_SERVICE = 'istio.v1.auth.IstioCertificateService';

export interface IstioCertificateRequest {
  csr: string;
  subject_id?: string;
  /** Seconds; int64 travels as a decimal string. */
  validity_duration?: string | number;
}

export interface IstioCertificateResponse {
  cert_chain: string[];
}

let ctor: grpc.ServiceClientConstructor | undefined;

/** The generated client constructor of the CA service (its `.service` is the server definition). */
export function caServiceClient(): grpc.ServiceClientConstructor {
  if (!ctor) {
    const def = protoLoader.loadSync(['istio/v1/auth/istioca.proto'], LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      istio: { v1: { auth: { IstioCertificateService: grpc.ServiceClientConstructor } } };
    };
    ctor = pkg.istio.v1.auth.IstioCertificateService;
  }
  return ctor;
}
