import * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import { type EchoReply, type EchoRequest, echoClientConstructor } from './backends.js';

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
let registered = false;

export type CallResult =
  | { ok: true; server: string }
  | { ok: false; code: grpc.status; codeName: string; details: string };

export interface CallTally {
  /** Successful calls by the backend that answered. */
  servers: Map<string, number>;
  /** Failed calls by gRPC status name. */
  errors: Map<string, number>;
  total: number;
}

export interface XdsEchoClient {
  nodeId: string;
  /** One unary Echo call; metadata pairs are sent as request headers. */
  call(metadata?: Record<string, string>, deadlineMs?: number): Promise<CallResult>;
  /** `n` calls, `concurrency` at a time, tallied. */
  callMany(n: number, metadata?: Record<string, string>, concurrency?: number): Promise<CallTally>;
  /** Calls until one result satisfies `pred` (resolving with it) or `timeoutMs` passes (rejecting with the last). */
  callUntil(
    pred: (r: CallResult) => boolean,
    what: string,
    opts?: { metadata?: Record<string, string>; timeoutMs?: number },
  ): Promise<CallResult>;
  close(): void;
}

export interface NodeOptions {
  /** Node metadata beyond GENERATOR=grpc and NAMESPACE=default. */
  metadata?: Record<string, string>;
  locality?: { region?: string; zone?: string; sub_zone?: string };
}

/** The JSON bootstrap a proxyless gRPC client reads: one insecure xDS v3 server and the node. */
export function bootstrapConfig(xdsServer: string, nodeId: string, node: NodeOptions = {}): string {
  return JSON.stringify({
    xds_servers: [
      { server_uri: xdsServer, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
    ],
    node: {
      id: nodeId,
      metadata: { GENERATOR: 'grpc', NAMESPACE: 'default', ...node.metadata },
      locality: node.locality ?? {},
    },
  });
}

const STATUS_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;

/** An Echo client over `@grpc/grpc-js-xds` with its own bootstrap (own node id and xDS stream). */
export function xdsClient(
  target: string,
  nodeId: string,
  xdsServer: string,
  node?: NodeOptions,
): XdsEchoClient {
  if (!registered) {
    register();
    registered = true;
  }
  const Client = echoClientConstructor();
  const client = new Client(target, grpc.credentials.createInsecure(), {
    [BOOTSTRAP_OPTION]: bootstrapConfig(xdsServer, nodeId, node),
  });
  const call = (metadata: Record<string, string> = {}, deadlineMs = 5000): Promise<CallResult> => {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    return new Promise((resolve) => {
      client.Call(
        { message: 'hello' } satisfies EchoRequest,
        md,
        { deadline: Date.now() + deadlineMs },
        (err: grpc.ServiceError | null, reply?: EchoReply) => {
          if (err)
            resolve({
              ok: false,
              code: err.code,
              codeName: STATUS_NAMES[err.code] ?? String(err.code),
              details: err.details,
            });
          else resolve({ ok: true, server: reply?.server ?? '' });
        },
      );
    });
  };
  const callMany = async (
    n: number,
    metadata?: Record<string, string>,
    concurrency = 20,
  ): Promise<CallTally> => {
    const tally: CallTally = { servers: new Map(), errors: new Map(), total: 0 };
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next++;
        const r = await call(metadata);
        tally.total++;
        const key = r.ok ? r.server : r.codeName;
        const map = r.ok ? tally.servers : tally.errors;
        map.set(key, (map.get(key) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
    return tally;
  };
  const callUntil: XdsEchoClient['callUntil'] = async (pred, what, opts = {}) => {
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    let last: CallResult | undefined;
    while (Date.now() < deadline) {
      last = await call(opts.metadata, Math.max(100, deadline - Date.now()));
      if (pred(last)) return last;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error(
      `${what}: no matching call result within ${opts.timeoutMs ?? 5000} ms; last ${JSON.stringify(last)}`,
    );
  };
  return { nodeId, call, callMany, callUntil, close: () => client.close() };
}

/** A sidecar-style node id `sidecar~<ip>~<name>.default~default.svc.cluster.local`. */
export function nodeIdFor(name: string, ip = '127.0.0.1'): string {
  return `sidecar~${ip}~${name}.default~default.svc.cluster.local`;
}
