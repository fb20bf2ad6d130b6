// IstioCertificateService/CreateCertificate: authenticate, parse the CSR, sign for the caller's
// identity (whatever the CSR asked for), answer leaf-first with the root last.
import * as grpc from '@grpc/grpc-js';
import type { Bus } from '@keel/bus';
import { Subjects } from '@keel/bus';
import {
  type CertificateAuthority,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
  parseCsr,
} from '@keel/pki';
import type { Logger } from '@keel/runtime';
import type { Authenticator } from './authn.js';
import type { CitadelMetrics } from './metrics.js';

export interface CaServiceOptions {
  authority: () => CertificateAuthority;
  authenticator: Authenticator;
  defaultTtlMs: number;
  maxTtlMs: number;
  metrics: CitadelMetrics;
  logger: Logger;
  bus: () => Bus | undefined;
}

type Handler = grpc.handleUnaryCall<IstioCertificateRequest, IstioCertificateResponse>;

const fail = (code: grpc.status, details: string) => ({ code, details, metadata: new grpc.Metadata() });

/** The validity asked for, in ms: <= 0 (or absent) means the default; beyond the maximum is an error. */
export function requestedTtl(
  raw: string | number | undefined,
  defaultTtlMs: number,
  maxTtlMs: number,
): { ok: true; value: number } | { ok: false; errors: string } {
  const seconds = Number(raw ?? 0);
  if (!Number.isFinite(seconds)) return { ok: false, errors: `validity_duration '${raw}' is not a number` };
  if (seconds <= 0) return { ok: true, value: defaultTtlMs };
  if (seconds * 1000 > maxTtlMs)
    return {
      ok: false,
      errors: `requested TTL ${seconds}s is greater than the max allowed TTL ${Math.floor(maxTtlMs / 1000)}s`,
    };
  return { ok: true, value: seconds * 1000 };
}

export function createCertificateHandler(opts: CaServiceOptions): Handler {
  const { metrics, logger } = opts;
  return (call, callback) => {
    void (async () => {
      metrics.csrCount.inc();
      const auth = await opts.authenticator.authenticate(call as grpc.ServerUnaryCall<unknown, unknown>);
      if (!auth.ok) {
        metrics.authnFailure.inc();
        if (auth.errors.idExtraction) metrics.idExtractionErr.inc();
        logger.warn(
          { peer: call.getPeer(), reason: auth.errors.reason },
          'CSR refused: authentication failed',
        );
        return callback(fail(grpc.status.UNAUTHENTICATED, `authentication failed: ${auth.errors.reason}`));
      }
      const req = call.request ?? ({} as IstioCertificateRequest);
      const csr = parseCsr(typeof req.csr === 'string' ? req.csr : '');
      if (!csr.ok) {
        metrics.csrParsingErr.inc();
        return callback(fail(grpc.status.INVALID_ARGUMENT, `CSR parsing error: ${csr.errors}`));
      }
      const ttl = requestedTtl(req.validity_duration, opts.defaultTtlMs, opts.maxTtlMs);
      if (!ttl.ok) {
        metrics.csrSignErr.inc();
        return callback(fail(grpc.status.INVALID_ARGUMENT, `CSR signing error: ${ttl.errors}`));
      }
      let issued: ReturnType<CertificateAuthority['issue']>;
      try {
        issued = opts
          .authority()
          .issue({ spki: csr.value.spki, uris: auth.value.identities, ttlMs: ttl.value });
      } catch (e) {
        metrics.csrSignErr.inc();
        logger.error({ err: e }, 'signing failed');
        return callback(fail(grpc.status.INTERNAL, `CSR signing error: ${(e as Error).message}`));
      }
      metrics.success.inc();
      const identity = auth.value.identities.join(',');
      // debug: issuance runs at thousands per second; keel.events.ca.issued and the metrics record each one.
      logger.debug(
        {
          identity,
          via: auth.value.via,
          serial: issued.serialNumber,
          notAfter: issued.notAfter.toISOString(),
        },
        'certificate issued',
      );
      opts.bus()?.publish(Subjects.certIssued, {
        identity,
        serialNumber: issued.serialNumber,
        notAfter: issued.notAfter.toISOString(),
        time: new Date().toISOString(),
      });
      callback(null, { cert_chain: issued.chain });
    })().catch((e: unknown) => {
      logger.error({ err: e }, 'CreateCertificate failed');
      callback(fail(grpc.status.INTERNAL, 'internal error'));
    });
  };
}
