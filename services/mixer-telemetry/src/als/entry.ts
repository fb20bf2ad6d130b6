// Envoy access-log entries (envoy.data.accesslog.v3) -> Istio 1.4 attribute bags (spec 4.4).
import { type AttrValue, Duration, MapBag, parseIp } from '../bag.js';
import { type MeshIndex, type PodInfo, parseClusterName } from '../mesh.js';
import type { Reporter } from './reporter.js';

type Msg = Record<string, any>;

/** Envoy's response-flag short codes, in AccessLogCommon.ResponseFlags field order. */
const RESPONSE_FLAGS: ReadonlyArray<[string, string]> = [
  ['failed_local_healthcheck', 'LH'],
  ['no_healthy_upstream', 'UH'],
  ['upstream_request_timeout', 'UT'],
  ['local_reset', 'LR'],
  ['upstream_remote_reset', 'UR'],
  ['upstream_connection_failure', 'UF'],
  ['upstream_connection_termination', 'UC'],
  ['upstream_overflow', 'UO'],
  ['no_route_found', 'NR'],
  ['delay_injected', 'DI'],
  ['fault_injected', 'FI'],
  ['rate_limited', 'RL'],
  ['unauthorized_details', 'UAEX'],
  ['rate_limit_service_error', 'RLSE'],
  ['downstream_connection_termination', 'DC'],
  ['upstream_retry_limit_exceeded', 'URX'],
  ['stream_idle_timeout', 'SI'],
  ['invalid_envoy_request_headers', 'IH'],
  ['downstream_protocol_error', 'DPE'],
  ['upstream_max_stream_duration_reached', 'UMSDR'],
  ['response_from_cache_filter', 'RFCF'],
  ['no_filter_config_found', 'NFCF'],
  ['duration_timeout', 'DT'],
  ['upstream_protocol_error', 'UPE'],
  ['no_cluster_found', 'NC'],
  ['overload_manager', 'OM'],
  ['dns_resolution_failure', 'DF'],
  ['downstream_remote_reset', 'DR'],
];

const METHODS = ['', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

/** uint64 / int64 as decoded by protobufjs (a Long or a number) -> number. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function')
    return (v as { toNumber(): number }).toNumber();
  return 0;
}

function durationMs(d: Msg | null | undefined): number | undefined {
  if (!d) return undefined;
  return num(d.seconds) * 1000 + (d.nanos ?? 0) / 1e6;
}

function timestamp(t: Msg | null | undefined): Date | undefined {
  const ms = durationMs(t);
  return ms === undefined ? undefined : new Date(ms);
}

const ipCache = new Map<string, Uint8Array>();
const IP_CACHE_MAX = 10_000;

/** IP text -> IP_ADDRESS bytes, cached (a mesh has few addresses); the shared bytes are read-only. */
function ipOf(text: string): Uint8Array | undefined {
  let v = ipCache.get(text);
  if (v === undefined) {
    v = parseIp(text);
    if (!v) return undefined;
    if (ipCache.size >= IP_CACHE_MAX) ipCache.clear();
    ipCache.set(text, v);
  }
  return v;
}

function socket(a: Msg | null | undefined): { ip: string; port: number } | undefined {
  const s = a?.socket_address;
  if (!s?.address) return undefined;
  return { ip: String(s.address), port: num(s.port_value) };
}

/** Response flags as Envoy prints them (`UF,URX`); '' when none is set. */
export function responseFlagsText(flags: Msg | null | undefined): string {
  if (!flags) return '';
  let out = '';
  for (const [field, code] of RESPONSE_FLAGS) {
    const v = flags[field];
    if (v === true || (field === 'unauthorized_details' && v)) out = out ? `${out},${code}` : code;
  }
  return out;
}

/** `spiffe://td/ns/x/sa/y` -> `td/ns/x/sa/y`: Istio 1.4 principals carry no scheme. */
function principalOf(cert: Msg | null | undefined): string | undefined {
  const sans = (cert?.subject_alt_name ?? []) as Msg[];
  const uri = sans.find((s) => typeof s.uri === 'string' && s.uri)?.uri as string | undefined;
  if (!uri) return undefined;
  return uri.startsWith('spiffe://') ? uri.slice('spiffe://'.length) : uri;
}

function stringMap(m: Msg | null | undefined): ReadonlyMap<string, string> | undefined {
  if (!m) return undefined;
  const keys = Object.keys(m);
  if (keys.length === 0) return undefined;
  return new Map(keys.map((k) => [k.toLowerCase(), String(m[k])]));
}

function setPeer(bag: MapBag, prefix: 'source' | 'destination', pod: PodInfo | undefined): void {
  if (!pod) return;
  bag.set(`${prefix}.uid`, pod.uid);
  bag.set(`${prefix}.name`, pod.name);
  bag.set(`${prefix}.namespace`, pod.namespace);
  bag.set(`${prefix}.labels`, pod.labels);
  bag.set(`${prefix}.serviceAccount`, pod.serviceAccount);
  bag.set(`${prefix}.owner`, pod.owner);
  bag.set(`${prefix}.workload.name`, pod.workload);
  bag.set(`${prefix}.workload.namespace`, pod.namespace);
  bag.set(`${prefix}.workload.uid`, `istio://${pod.namespace}/workloads/${pod.workload}`);
}

function setReporterPeer(bag: MapBag, prefix: 'source' | 'destination', r: Reporter): void {
  const workload = r.workload || r.name;
  bag.set(`${prefix}.uid`, r.uid);
  bag.set(`${prefix}.name`, r.name);
  bag.set(`${prefix}.namespace`, r.namespace);
  if (r.labels.size > 0) bag.set(`${prefix}.labels`, r.labels);
  bag.set(`${prefix}.serviceAccount`, r.serviceAccount);
  bag.set(`${prefix}.owner`, r.owner);
  bag.set(`${prefix}.workload.name`, workload);
  bag.set(`${prefix}.workload.namespace`, r.namespace);
  if (workload) bag.set(`${prefix}.workload.uid`, `istio://${r.namespace}/workloads/${workload}`);
}

/** Attributes every entry shares: reporter, peers, service, TLS, timing and flags. */
function common(c: Msg, reporter: Reporter, mesh: MeshIndex, now: Date): MapBag {
  const bag = new MapBag();
  const cluster = parseClusterName(String(c.upstream_cluster ?? ''));
  const kind: 'inbound' | 'outbound' = reporter.logKind ?? cluster?.direction ?? 'inbound';
  bag.set('context.reporter.kind', kind);
  bag.set('context.reporter.uid', reporter.uid);
  bag.set('context.proxy_version', reporter.proxyVersion);
  bag.set('context.time', now);
  bag.set('context.timestamp', now);
  const downstream = socket(c.downstream_remote_address);
  const local = socket(c.downstream_local_address);
  const upstream = socket(c.upstream_remote_address);
  const tls = c.tls_properties as Msg | undefined;
  const peerPrincipal = principalOf(tls?.peer_certificate_properties);
  if (kind === 'inbound') {
    setReporterPeer(bag, 'destination', reporter);
    setPeer(bag, 'source', downstream ? mesh.podByIp(downstream.ip) : undefined);
    bag.set('source.ip', downstream && ipOf(downstream.ip));
    bag.set('destination.ip', local ? ipOf(local.ip) : ipOf(reporter.ip));
    if (local) bag.set('destination.port', local.port);
    bag.set('source.principal', peerPrincipal);
    bag.set('destination.principal', principalOf(tls?.local_certificate_properties));
    bag.set('connection.mtls', peerPrincipal !== undefined);
  } else {
    setReporterPeer(bag, 'source', reporter);
    setPeer(bag, 'destination', upstream ? mesh.podByIp(upstream.ip) : undefined);
    bag.set('source.ip', ipOf(reporter.ip));
    bag.set('destination.ip', upstream && ipOf(upstream.ip));
    if (upstream) bag.set('destination.port', upstream.port);
    bag.set('connection.mtls', false);
  }
  if (cluster?.host) {
    bag.set('destination.service.host', cluster.host);
    const svc = mesh.service(cluster.host);
    const labels = cluster.host.split('.');
    const name = svc?.name ?? (labels[2] === 'svc' ? labels[0] : undefined);
    const ns = svc?.namespace ?? (labels[2] === 'svc' ? labels[1] : undefined);
    bag.set('destination.service.name', name);
    bag.set('destination.service.namespace', ns);
    if (name && ns) bag.set('destination.service.uid', svc?.uid ?? `istio://${ns}/services/${name}`);
  }
  bag.set('connection.requested_server_name', tls?.tls_sni_hostname);
  bag.set('context.proxy_error_code', responseFlagsText(c.response_flags));
  const origin = socket(c.downstream_direct_remote_address);
  bag.set('origin.ip', origin && ipOf(origin.ip));
  return bag;
}

const GRPC_TYPE = /^application\/grpc/;

/** One HTTP entry (HTTPAccessLogEntry) -> bag. */
export function httpEntryBag(e: Msg, reporter: Reporter, mesh: MeshIndex, now = new Date()): MapBag {
  const c = (e.common_properties ?? {}) as Msg;
  const bag = common(c, reporter, mesh, now);
  const req = (e.request ?? {}) as Msg;
  const res = (e.response ?? {}) as Msg;
  const headers = stringMap(req.request_headers);
  const resHeaders = stringMap(res.response_headers);
  const trailers = stringMap(res.response_trailers);
  const grpcStatus = trailers?.get('grpc-status') ?? resHeaders?.get('grpc-status');
  const grpc =
    GRPC_TYPE.test(headers?.get('content-type') ?? '') ||
    GRPC_TYPE.test(resHeaders?.get('content-type') ?? '') ||
    grpcStatus !== undefined;
  bag.set('context.protocol', grpc ? 'grpc' : 'http');
  bag.set('api.protocol', grpc ? 'grpc' : 'http');
  const path = String(req.path ?? '');
  bag.set('request.method', METHODS[num(req.request_method)] ?? '');
  bag.set('request.scheme', req.scheme);
  bag.set('request.host', req.authority);
  bag.set('request.path', path);
  bag.set('request.url_path', path.split('?')[0]);
  bag.set('request.useragent', req.user_agent ?? headers?.get('user-agent'));
  bag.set('request.referer', req.referer);
  bag.set('request.id', req.request_id ?? headers?.get('x-request-id'));
  bag.set('request.headers', headers);
  const reqBody = num(req.request_body_bytes);
  bag.set('request.size', reqBody);
  bag.set('request.total_size', reqBody + num(req.request_headers_bytes));
  const start = timestamp(c.start_time);
  bag.set('request.time', start ?? now);
  const code = res.response_code?.value;
  if (code !== undefined && code !== null) bag.set('response.code', num(code));
  const resBody = num(res.response_body_bytes);
  bag.set('response.size', resBody);
  bag.set('response.total_size', resBody + num(res.response_headers_bytes));
  bag.set('response.headers', resHeaders);
  bag.set('response.grpc_status', grpcStatus);
  bag.set('response.grpc_message', trailers?.get('grpc-message'));
  const durMs = durationMs(c.time_to_last_downstream_tx_byte) ?? durationMs(c.duration);
  if (durMs !== undefined) {
    bag.set('response.duration', new Duration(durMs));
    bag.set('response.time', new Date((start ?? now).getTime() + durMs));
  }
  return bag;
}

/** Per-stream TCP bookkeeping: byte totals already reported per connection, bounded. */
export class TcpConnections {
  private readonly seen = new Map<string, { sent: number; received: number }>();
  constructor(private readonly max = 65_536) {}

  /** Records totals; returns the previous totals (undefined for a connection never seen). */
  update(
    key: string,
    sent: number,
    received: number,
    closing: boolean,
  ): { sent: number; received: number } | undefined {
    const prev = this.seen.get(key);
    if (closing) this.seen.delete(key);
    else {
      if (!prev && this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value as string);
      this.seen.set(key, { sent, received });
    }
    return prev;
  }
  get size(): number {
    return this.seen.size;
  }
}

const TCP_CONNECTED = 1;
const TCP_PERIODIC = 2;

/**
 * One TCP entry -> one or two bags. Envoy logs `TcpUpstreamConnected` (open), `TcpPeriodic`
 * (continue) and the final entry (close). A close for a connection this stream never saw open
 * yields an open bag first, so istio_tcp_connections_opened_total counts every connection.
 * Byte attributes are deltas since the previous report of the connection; `_total` ones are totals.
 */
export function tcpEntryBags(
  e: Msg,
  reporter: Reporter,
  mesh: MeshIndex,
  conns: TcpConnections,
  now = new Date(),
): MapBag[] {
  const c = (e.common_properties ?? {}) as Msg;
  const props = (e.connection_properties ?? {}) as Msg;
  const sent = num(props.sent_bytes);
  const received = num(props.received_bytes);
  const type = num(c.access_log_type);
  const event =
    type === TCP_CONNECTED
      ? 'open'
      : type === TCP_PERIODIC || c.intermediate_log_entry === true
        ? 'continue'
        : 'close';
  const d = socket(c.downstream_remote_address);
  const key = c.stream_id ? String(c.stream_id) : `${d?.ip}:${d?.port}>${c.upstream_cluster ?? ''}`;
  const prev = conns.update(key, sent, received, event === 'close');
  const make = (ev: string, sentDelta: number, receivedDelta: number): MapBag => {
    const bag = common(c, reporter, mesh, now);
    bag.set('context.protocol', 'tcp');
    bag.set('connection.event', ev);
    bag.set('connection.id', key);
    bag.set('connection.sent.bytes', sentDelta);
    bag.set('connection.received.bytes', receivedDelta);
    bag.set('connection.sent.bytes_total', sent);
    bag.set('connection.received.bytes_total', received);
    const dur = durationMs(c.duration);
    if (dur !== undefined) bag.set('connection.duration', new Duration(dur));
    return bag;
  };
  const bags: MapBag[] = [];
  if (!prev && event !== 'open') bags.push(make('open', 0, 0));
  bags.push(make(event, sent - (prev?.sent ?? 0), received - (prev?.received ?? 0)));
  return bags;
}

export type { AttrValue };
