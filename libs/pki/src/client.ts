import * as grpc from '@grpc/grpc-js';
import { caServiceClient, type IstioCertificateResponse } from './api.js';

export interface CaClientOptions {
  /** `host:port` of Citadel. */
  address: string;
  /** PEM roots that verify Citadel's serving certificate. */
  rootPem: string;
  /** The name Citadel's certificate must carry (default `istio-citadel`). */
  serverName?: string;
  /** Client certificate authentication (chain and key, PEM). */
  clientCert?: { certChainPem: string; keyPem: string };
}

export interface CaRequest {
  csrPem: string;
  /** Seconds; 0 asks for the CA's default. */
  validitySeconds?: number;
  /** Sent as `authorization: Bearer <token>`. */
  token?: string;
  timeoutMs?: number;
}

/** A client of IstioCertificateService over TLS. */
export class CaClient {
  private readonly client: grpc.Client & {
    CreateCertificate: (
      req: unknown,
      md: grpc.Metadata,
      opts: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res?: IstioCertificateResponse) => void,
    ) => void;
  };

  constructor(opts: CaClientOptions) {
    const creds = grpc.credentials.createSsl(
      Buffer.from(opts.rootPem),
      opts.clientCert ? Buffer.from(opts.clientCert.keyPem) : null,
      opts.clientCert ? Buffer.from(opts.clientCert.certChainPem) : null,
    );
    const Ctor = caServiceClient();
    this.client = new Ctor(opts.address, creds, {
      'grpc.ssl_target_name_override': opts.serverName ?? 'istio-citadel',
      'grpc.default_authority': opts.serverName ?? 'istio-citadel',
    }) as unknown as CaClient['client'];
  }

  /** Resolves with the chain (leaf first, root last); rejects with the gRPC error. */
  createCertificate(req: CaRequest): Promise<string[]> {
    const md = new grpc.Metadata();
    if (req.token !== undefined) md.set('authorization', `Bearer ${req.token}`);
    return new Promise((resolve, reject) =>
      this.client.CreateCertificate(
        { csr: req.csrPem, validity_duration: String(req.validitySeconds ?? 0) },
        md,
        { deadline: Date.now() + (req.timeoutMs ?? 10_000) },
        (err, res) => (err ? reject(err) : resolve(res?.cert_chain ?? [])),
      ),
    );
  }

  close(): void {
    this.client.close();
  }
}
