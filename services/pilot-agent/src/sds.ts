// SDS v3 (envoy.service.secret.v3.SecretDiscoveryService) on a Unix socket: serves `default` (the
// workload key and chain) and `ROOTCA` (the trust bundle), pushes renewals on open streams, and
// keeps a per-stream nonce/version so ACKs, NACKs and stale requests are told apart.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '@keel/proto';
import type { Logger } from '@keel/runtime';

export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
export const DEFAULT_SECRET = 'default';
export const ROOT_SECRET = 'ROOTCA';

export interface SecretMaterial {
  certChainPem: string;
  keyPem: string;
  rootPem: string;
  /** Changes with every renewal. */
  version: string;
}

interface DiscoveryRequest {
  version_info?: string;
  resource_names?: string[];
  response_nonce?: string;
  error_detail?: { message?: string } | null;
  type_url?: string;
  node?: { id?: string };
}

interface StreamState {
  call: grpc.ServerDuplexStream<DiscoveryRequest, unknown>;
  names: string[];
  nonce: string;
  sentVersion: string;
  node: string;
}

export interface SdsServer {
  /** Binds the socket (a stale socket file is removed first). */
  start(): Promise<void>;
  /** Publishes new material to every open stream. */
  update(material: SecretMaterial): void;
  stop(): Promise<void>;
  /** Open streams and what they asked for. */
  streams(): { node: string; names: string[]; version: string }[];
}

export function secretResource(name: string, m: SecretMaterial): Record<string, unknown> | undefined {
  if (name === DEFAULT_SECRET)
    return {
      '@type': SECRET_TYPE_URL,
      name,
      tls_certificate: {
        certificate_chain: { inline_bytes: Buffer.from(m.certChainPem) },
        private_key: { inline_bytes: Buffer.from(m.keyPem) },
      },
    };
  if (name === ROOT_SECRET)
    return {
      '@type': SECRET_TYPE_URL,
      name,
      validation_context: { trusted_ca: { inline_bytes: Buffer.from(m.rootPem) } },
    };
  return undefined;
}

export function createSdsServer(opts: {
  socketPath: string;
  logger: Logger;
  onPush?: () => void;
}): SdsServer {
  const log = opts.logger;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 1024 * 1024 });
  const streams = new Set<StreamState>();
  let material: SecretMaterial | undefined;

  const send = (s: StreamState): void => {
    if (!material) return;
    const resources = s.names.map((n) => secretResource(n, material!)).filter((r) => r !== undefined);
    if (resources.length === 0) return;
    s.nonce = randomBytes(8).toString('hex');
    s.sentVersion = material.version;
    s.call.write({ version_info: material.version, resources, type_url: SECRET_TYPE_URL, nonce: s.nonce });
    opts.onPush?.();
  };

  server.addService(serviceDefinition('envoy.service.secret.v3.SecretDiscoveryService'), {
    StreamSecrets(call: grpc.ServerDuplexStream<DiscoveryRequest, unknown>) {
      const s: StreamState = { call, names: [], nonce: '', sentVersion: '', node: '' };
      streams.add(s);
      const done = () => streams.delete(s);
      call.on('end', () => {
        done();
        call.end();
      });
      call.on('error', done);
      call.on('cancelled', done);
      call.on('data', (req: DiscoveryRequest) => {
        if (req.node?.id) s.node = req.node.id;
        if (req.type_url && req.type_url !== SECRET_TYPE_URL) {
          call.destroy(
            Object.assign(new Error(`unsupported type ${req.type_url}`), {
              code: grpc.status.INVALID_ARGUMENT,
            }),
          );
          return;
        }
        const names = (req.resource_names ?? []).slice(0, 16);
        if (req.response_nonce) {
          if (req.response_nonce !== s.nonce) return; // stale
          if (req.error_detail?.message) {
            log.warn({ node: s.node, names, error: req.error_detail.message }, 'SDS NACK');
            return;
          }
          if (names.join(',') === s.names.join(',') && s.sentVersion === material?.version) return; // ACK
        }
        s.names = names;
        send(s);
      });
    },
    FetchSecrets(call: grpc.ServerUnaryCall<DiscoveryRequest, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (!material) return cb({ code: grpc.status.UNAVAILABLE, details: 'no certificate yet' });
      const resources = (call.request.resource_names ?? [])
        .map((n) => secretResource(n, material!))
        .filter(Boolean);
      cb(null, { version_info: material.version, resources, type_url: SECRET_TYPE_URL });
    },
    DeltaSecrets(call: grpc.ServerDuplexStream<unknown, unknown>) {
      call.destroy(
        Object.assign(new Error('delta SDS is not supported'), { code: grpc.status.UNIMPLEMENTED }),
      );
    },
  });

  return {
    async start() {
      rmSync(opts.socketPath, { force: true });
      await new Promise<void>((resolve, reject) =>
        server.bindAsync(`unix:${opts.socketPath}`, grpc.ServerCredentials.createInsecure(), (e) =>
          e ? reject(e) : resolve(),
        ),
      );
    },
    update(m) {
      material = m;
      for (const s of streams) send(s);
    },
    streams: () => [...streams].map((s) => ({ node: s.node, names: s.names, version: s.sentVersion })),
    async stop() {
      for (const s of streams) s.call.end();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
      rmSync(opts.socketPath, { force: true });
    },
  };
}
