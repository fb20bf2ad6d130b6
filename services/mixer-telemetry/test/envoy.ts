// Access-log streams shaped as Envoy sends them: a real grpc-js client, messages encoded with the
// real envoy.service.accesslog.v3 types (node on the first message only).
import * as grpc from '@grpc/grpc-js';
import { jsonToStruct, lookupType } from '@keel/proto';
import { ALS_METHOD } from '../src/index.js';

const MSG = 'envoy.service.accesslog.v3.StreamAccessLogsMessage';

export interface Pod {
  name: string;
  ip: string;
  app: string;
  version: string;
  sa: string;
}

export const PODS = {
  productpage: {
    name: 'productpage-v1-6d7f8c9b5c-abcde',
    ip: '10.0.0.1',
    app: 'productpage',
    version: 'v1',
    sa: 'bookinfo-productpage',
  },
  reviews: {
    name: 'reviews-v2-7bf8c9648f-fghij',
    ip: '10.0.0.2',
    app: 'reviews',
    version: 'v2',
    sa: 'bookinfo-reviews',
  },
  details: {
    name: 'details-v1-5974b67c8-klmno',
    ip: '10.0.0.3',
    app: 'details',
    version: 'v1',
    sa: 'bookinfo-details',
  },
  ratings: {
    name: 'ratings-v2-6b7c9d8f5-pqrst',
    ip: '10.0.0.4',
    app: 'ratings',
    version: 'v2',
    sa: 'bookinfo-ratings',
  },
  mongodb: {
    name: 'mongodb-v1-8c4d5e6f7-uvwxy',
    ip: '10.0.0.5',
    app: 'mongodb',
    version: 'v1',
    sa: 'default',
  },
} satisfies Record<string, Pod>;

/** The node a sidecar's access logger sends (pilot-agent bootstrap shape). */
export function sidecarNode(p: Pod, ns = 'default'): Record<string, unknown> {
  return {
    id: `sidecar~${p.ip}~${p.name}.${ns}~${ns}.svc.cluster.local`,
    cluster: `${p.app}.${ns}`,
    metadata: jsonToStruct({
      NAMESPACE: ns,
      INSTANCE_IPS: p.ip,
      LABELS: { app: p.app, version: p.version },
      SERVICE_ACCOUNT: p.sa,
      ISTIO_VERSION: '1.4.10',
    }),
  };
}

const addr = (ip: string, port: number) => ({ socket_address: { address: ip, port_value: port } });
const spiffe = (sa: string, ns = 'default') => ({
  subject_alt_name: [{ uri: `spiffe://cluster.local/ns/${ns}/sa/${sa}` }],
});

export interface HttpCall {
  from: Pod;
  to: Pod;
  service: string;
  port?: number;
  path?: string;
  code?: number;
  grpc?: boolean;
  mtls?: boolean;
  userAgent?: string;
  flags?: Record<string, boolean>;
  durationMs?: number;
  requestBytes?: number;
  responseBytes?: number;
  headers?: Record<string, string>;
}

/** The outbound (client sidecar) and inbound (server sidecar) entries of one call. */
export function httpEntries(c: HttpCall): {
  outbound: Record<string, unknown>;
  inbound: Record<string, unknown>;
} {
  const port = c.port ?? 9080;
  const host = `${c.service}.default.svc.cluster.local`;
  const dur = c.durationMs ?? 12;
  const headers: Record<string, string> = { 'x-request-id': 'r-1', ...(c.headers ?? {}) };
  if (c.grpc) headers['content-type'] = 'application/grpc';
  const request = {
    request_method: c.grpc ? 'POST' : 'GET',
    scheme: 'http',
    authority: `${c.service}:${port}`,
    path: c.path ?? '/',
    user_agent: c.userAgent ?? 'python-requests/2.22',
    request_id: 'r-1',
    request_headers_bytes: 120,
    request_body_bytes: c.requestBytes ?? 0,
    request_headers: headers,
  };
  const response = {
    response_code: { value: c.code ?? 200 },
    response_headers_bytes: 80,
    response_body_bytes: c.responseBytes ?? 350,
    ...(c.grpc ? { response_trailers: { 'grpc-status': '0' } } : {}),
  };
  const start = { seconds: 1_700_000_000, nanos: 0 };
  const common = (cluster: string, extra: Record<string, unknown>) => ({
    start_time: start,
    time_to_last_downstream_tx_byte: { seconds: Math.floor(dur / 1000), nanos: (dur % 1000) * 1e6 },
    upstream_cluster: cluster,
    ...(c.flags ? { response_flags: c.flags } : {}),
    ...extra,
  });
  const outbound = {
    common_properties: common(`outbound|${port}||${host}`, {
      downstream_remote_address: addr(c.from.ip, 40000),
      downstream_local_address: addr('10.96.0.10', port),
      upstream_remote_address: addr(c.to.ip, port),
    }),
    protocol_version: c.grpc ? 'HTTP2' : 'HTTP11',
    request,
    response,
  };
  const inbound = {
    common_properties: common(`inbound|${port}|http|${host}`, {
      downstream_remote_address: addr(c.from.ip, 40000),
      downstream_local_address: addr(c.to.ip, port),
      upstream_remote_address: addr('127.0.0.1', port),
      ...(c.mtls
        ? {
            tls_properties: {
              tls_version: 'TLSv1_3',
              local_certificate_properties: spiffe(c.to.sa),
              peer_certificate_properties: spiffe(c.from.sa),
            },
          }
        : {}),
    }),
    protocol_version: c.grpc ? 'HTTP2' : 'HTTP11',
    request,
    response,
  };
  return { outbound, inbound };
}

/** A TCP entry (tcp_proxy access log) of a connection from `from` to `to`'s service. */
export function tcpEntry(o: {
  from: Pod;
  to: Pod;
  service: string;
  port: number;
  direction: 'outbound' | 'inbound';
  type?: 'TcpUpstreamConnected' | 'TcpPeriodic' | 'TcpConnectionEnd';
  sent?: number;
  received?: number;
  streamId?: string;
  mtls?: boolean;
}): Record<string, unknown> {
  const host = `${o.service}.default.svc.cluster.local`;
  const cluster =
    o.direction === 'outbound' ? `outbound|${o.port}||${host}` : `inbound|${o.port}|tcp|${host}`;
  return {
    common_properties: {
      upstream_cluster: cluster,
      downstream_remote_address: addr(o.from.ip, 41000),
      downstream_local_address: addr(o.direction === 'inbound' ? o.to.ip : '10.96.0.20', o.port),
      upstream_remote_address: addr(o.direction === 'outbound' ? o.to.ip : '127.0.0.1', o.port),
      ...(o.streamId ? { stream_id: o.streamId } : {}),
      ...(o.type ? { access_log_type: o.type } : {}),
      ...(o.type && o.type !== 'TcpConnectionEnd' ? { intermediate_log_entry: true } : {}),
      duration: { seconds: 2, nanos: 0 },
      ...(o.mtls
        ? {
            tls_properties: {
              local_certificate_properties: spiffe(o.to.sa),
              peer_certificate_properties: spiffe(o.from.sa),
            },
          }
        : {}),
    },
    connection_properties: { sent_bytes: o.sent ?? 0, received_bytes: o.received ?? 0 },
  };
}

/** One StreamAccessLogsMessage, encoded. */
export function encodeMessage(m: {
  node?: Record<string, unknown>;
  logName?: string;
  http?: Record<string, unknown>[];
  tcp?: Record<string, unknown>[];
}): Buffer {
  const t = lookupType(MSG);
  const obj: Record<string, unknown> = {};
  if (m.node) obj.identifier = { node: m.node, log_name: m.logName ?? 'keel-mixer' };
  if (m.http) obj.http_logs = { log_entry: m.http };
  else if (m.tcp) obj.tcp_logs = { log_entry: m.tcp };
  const err = t.verify(obj);
  if (err && !/enum/.test(err)) throw new Error(`test message invalid: ${err}`);
  return Buffer.from(t.encode(t.fromObject(obj)).finish());
}

export interface AlsStream {
  send(buf: Buffer): void;
  /** Half-closes; resolves with the call's status (OK or the server's error). */
  end(): Promise<grpc.StatusObject | grpc.ServiceError>;
  /** Resolves when the server ends the call (an error), without half-closing. */
  closed: Promise<grpc.ServiceError | undefined>;
}

/** A client stream to StreamAccessLogs on `address`. */
export function openStream(client: grpc.Client): AlsStream {
  let settle: (e: grpc.ServiceError | undefined) => void = () => {};
  const closed = new Promise<grpc.ServiceError | undefined>((r) => {
    settle = r;
  });
  const call = client.makeClientStreamRequest(
    ALS_METHOD,
    (b: Buffer) => b,
    (b: Buffer) => b,
    (err) => settle(err ?? undefined),
  );
  return {
    send: (buf) => call.write(buf),
    end: async () => {
      call.end();
      const e = await closed;
      return e ?? { code: grpc.status.OK, details: 'OK', metadata: new grpc.Metadata() };
    },
    closed,
  };
}

export function alsClient(port: number): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}
