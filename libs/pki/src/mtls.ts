// Mutual TLS for Keel's control-plane gRPC ports (Pilot 15011, Galley MCP): Citadel-issued files,
// reloaded when they change; a client must present a certificate chaining to the mesh roots whose
// SPIFFE identity is in the trust domain (and, optionally, in an allow list).
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { type Logger, silentLogger, watchTlsFiles } from '@keel/runtime';
import { MemoryCertificateProvider } from './provider.js';
import { parseSpiffeId, spiffeIdsOf } from './spiffe.js';

export interface MtlsFiles {
  certChainFile: string;
  keyFile: string;
  rootCertFile: string;
}

/** The istio.<sa> secret's files under one directory (Istio's /etc/certs convention). */
export function certDirFiles(dir: string): MtlsFiles {
  return {
    certChainFile: `${dir}/cert-chain.pem`,
    keyFile: `${dir}/key.pem`,
    rootCertFile: `${dir}/root-cert.pem`,
  };
}

/** The PEM texts of an istio.<sa> secret. */
export interface CertDirMaterial {
  certChainPem: string;
  keyPem: string;
  rootPem: string;
}

async function writeAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

/**
 * Writes the `certDirFiles` of `dir` (the key 0600), each replaced atomically, root first and chain last
 * so a reader watching the directory never pairs a new chain with an old key.
 */
export async function writeCertFiles(dir: string, m: CertDirMaterial): Promise<void> {
  const files = certDirFiles(dir);
  await mkdir(dir, { recursive: true });
  await writeAtomic(files.rootCertFile, m.rootPem, 0o644);
  await writeAtomic(files.keyFile, m.keyPem, 0o600);
  await writeAtomic(files.certChainFile, m.certChainPem, 0o644);
}

export interface PeerPolicy {
  trustDomain: string;
  /** Exact SPIFFE ids allowed; any identity in the trust domain when absent. */
  allowed?: readonly string[];
}

/** Why a peer certificate is refused, or undefined when it is accepted. */
export function checkPeer(raw: Buffer | undefined, policy: PeerPolicy): string | undefined {
  if (!raw) return 'no verified client certificate';
  const ids = spiffeIdsOf(new X509Certificate(raw));
  if (ids.length === 0) return 'the client certificate has no SPIFFE identity';
  const ok = ids.some((id) => {
    const p = parseSpiffeId(id);
    if (!p.ok || p.value.trustDomain !== policy.trustDomain) return false;
    return !policy.allowed || policy.allowed.includes(id);
  });
  return ok ? undefined : `identity ${ids.join(',')} is not allowed`;
}

/** A server interceptor that ends calls from peers `checkPeer` refuses with UNAUTHENTICATED. */
export function spiffeInterceptor(policy: PeerPolicy, logger: Logger = silentLogger): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        const problem = checkPeer(call.getAuthContext()?.sslPeerCertificate?.raw, policy);
        if (problem) {
          logger.warn({ reason: problem }, 'mTLS client refused');
          call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: `mTLS: ${problem}` });
          return;
        }
        next();
      },
    });
}

export interface MtlsServer {
  credentials: grpc.ServerCredentials;
  close(): void;
}

/** Server credentials requiring a client certificate, from files that are reloaded on change. */
export async function mtlsServerCredentials(
  files: MtlsFiles,
  policy: PeerPolicy,
  logger: Logger = silentLogger,
): Promise<MtlsServer> {
  const provider = new MemoryCertificateProvider();
  const watcher = await watchTlsFiles({
    certFile: files.certChainFile,
    keyFile: files.keyFile,
    caFile: files.rootCertFile,
    logger,
    onChange: (m) => provider.update({ certChainPem: m.cert, keyPem: m.key, caPem: m.ca ?? '' }),
  });
  const m = watcher.current();
  provider.update({ certChainPem: m.cert, keyPem: m.key, caPem: m.ca ?? '' });
  const base = grpc.experimental.createCertificateProviderServerCredentials(provider, provider, true);
  return {
    credentials: grpc.experimental.createServerCredentialsWithInterceptors(base, [
      spiffeInterceptor(policy, logger),
    ]),
    close: () => watcher.close(),
  };
}

export interface MtlsClient {
  /** Usable at once: connections wait until `start()` has loaded the files. */
  credentials: grpc.ChannelCredentials;
  /** Loads the files and follows changes (renewals swap the certificate without reconnecting). */
  start(): Promise<void>;
  close(): void;
}

/**
 * Channel credentials presenting the files' certificate, checking the server against their roots and,
 * instead of a DNS name, by SPIFFE identity (one of `serverIds`, e.g. Galley's or Pilot's service account).
 */
export function mtlsChannel(
  files: MtlsFiles,
  serverIds: readonly string[],
  logger: Logger = silentLogger,
): MtlsClient {
  const provider = new MemoryCertificateProvider();
  const credentials = grpc.experimental.createCertificateProviderChannelCredentials(provider, provider, {
    checkServerIdentity: (_host, cert) => {
      const ids = spiffeIdsOf(new X509Certificate(cert.raw));
      return ids.some((id) => serverIds.includes(id))
        ? undefined
        : new Error(`server identity ${ids.join(',') || '(none)'} is not ${serverIds.join(' or ')}`);
    },
  });
  let watcher: { close(): void } | undefined;
  return {
    credentials,
    async start() {
      const w = await watchTlsFiles({
        certFile: files.certChainFile,
        keyFile: files.keyFile,
        caFile: files.rootCertFile,
        logger,
        onChange: (m) => provider.update({ certChainPem: m.cert, keyPem: m.key, caPem: m.ca ?? '' }),
      });
      watcher = w;
      const m = w.current();
      provider.update({ certChainPem: m.cert, keyPem: m.key, caPem: m.ca ?? '' });
    },
    close: () => watcher?.close(),
  };
}
