import type * as grpc from '@grpc/grpc-js';
import { type AnyMessage, lookupType, structToJson, TypeUrl } from '@keel/proto';
import type { FramePool } from './frames.js';
import { encodedLength, varintLength, writeEncoded, writeVarint } from './resource.js';

/** The client's node as plain JSON (metadata converted from google.protobuf.Struct). */
export interface NodeInfo {
  id: string;
  cluster: string;
  metadata: Record<string, unknown>;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name?: string;
  user_agent_version?: string;
  client_features?: string[];
}

export interface ErrorDetail {
  code: number;
  message: string;
}

/** DiscoveryRequest, decoded and normalised (absent fields become '' or []). */
export interface SotwRequest {
  version_info: string;
  node?: NodeInfo;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: ErrorDetail;
}

/** DeltaDiscoveryRequest, decoded and normalised. */
export interface DeltaRequest {
  node?: NodeInfo;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail?: ErrorDetail;
}

/** DiscoveryResponse in protobufjs object form; resources carry pre-encoded Any values. */
export interface SotwWire {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}

/** DeltaDiscoveryResponse in protobufjs object form. */
export interface DeltaWire {
  system_version_info: string;
  resources: { name: string; version: string; resource: AnyMessage }[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

type Obj = Record<string, any>;
const PKG = 'envoy.service.discovery.v3.';

function decode(typeName: string, bytes: Buffer): Obj {
  const type = lookupType(typeName);
  return type.toObject(type.decode(bytes), { longs: String, enums: String, defaults: false });
}

function encode(typeName: string, object: object): Buffer {
  const bytes = lookupType(typeName).encode(object).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function nodeOf(n: Obj | undefined): NodeInfo | undefined {
  if (!n) return undefined;
  const node: NodeInfo = { id: n.id ?? '', cluster: n.cluster ?? '', metadata: structToJson(n.metadata) };
  if (n.locality) node.locality = n.locality;
  if (n.user_agent_name) node.user_agent_name = String(n.user_agent_name).slice(0, 256);
  if (n.user_agent_version) node.user_agent_version = String(n.user_agent_version).slice(0, 256);
  if (Array.isArray(n.client_features) && n.client_features.length > 0)
    node.client_features = n.client_features.slice(0, 64).map((f: unknown) => String(f).slice(0, 256));
  return node;
}

function errorOf(e: Obj | undefined): ErrorDetail | undefined {
  return e ? { code: e.code ?? 0, message: e.message ?? '' } : undefined;
}

/** A DiscoveryResponse without its nonce, encoded once for every stream that sends it. */
export function encodeSotwBody(
  version: string,
  typeUrl: string,
  resources: readonly { typeUrl: string; encoded: Uint8Array }[],
): Buffer {
  const anys = resources.map((r) => ({ type_url: r.typeUrl, value: r.encoded }));
  return encode(`${PKG}DiscoveryResponse`, { version_info: version, resources: anys, type_url: typeUrl });
}

/** `body` plus the nonce field: protobuf merges concatenated fields, so this is the full response. */
export function withNonce(body: Buffer, nonce: string): Buffer {
  return Buffer.concat([body, encode(`${PKG}DiscoveryResponse`, { nonce })]);
}

/**
 * `new Framed(withNonce(encodeSotwBody(version, typeUrl, resources), nonce))` written in one pass (the same
 * bytes: fields 1, 2, 4, then 5); each resource's bytes are copied once. Returns the body length too.
 */
export function framedSotw(
  version: string,
  typeUrl: string,
  resources: readonly { typeUrl: string; encoded: Uint8Array }[],
  nonce: string,
  pool?: FramePool,
): { framed: Framed; bodyLength: number } {
  const str = (x: string) => Buffer.byteLength(x);
  const field = (len: number) => 1 + varintLength(len) + len;
  const typeLength = str(typeUrl);
  const anyLens = resources.map(
    (r) => field(r.typeUrl === typeUrl ? typeLength : str(r.typeUrl)) + field(encodedLength(r)),
  );
  const bodyLength =
    field(str(version)) + anyLens.reduce((sum, len) => sum + field(len), 0) + field(str(typeUrl));
  const messageLength = bodyLength + field(str(nonce));
  const chunk = pool?.take(messageLength + 5);
  const buf = chunk ? chunk.subarray(0, messageLength + 5) : Buffer.allocUnsafe(messageLength + 5);
  buf[0] = 0;
  buf.writeUInt32BE(messageLength, 1);
  const putString = (at: number, tag: number, x: string): number => {
    buf[at] = tag;
    const end = writeVarint(buf, at + 1, str(x));
    return end + buf.write(x, end, 'utf8');
  };
  // Resources of one response nearly always share its type URL: its bytes are encoded once.
  const typeBytes = Buffer.from(typeUrl);
  const putType = (start: number, x: string): number => {
    if (x !== typeUrl) return putString(start, 0x0a, x);
    buf[start] = 0x0a;
    const end = writeVarint(buf, start + 1, typeBytes.length);
    buf.set(typeBytes, end);
    return end + typeBytes.length;
  };
  let at = putString(5, 0x0a, version);
  resources.forEach((r, i) => {
    buf[at] = 0x12;
    at = putType(writeVarint(buf, at + 1, anyLens[i]!), r.typeUrl);
    buf[at] = 0x12;
    at = writeEncoded(buf, writeVarint(buf, at + 1, encodedLength(r)), r);
  });
  at = putString(at, 0x22, typeUrl);
  putString(at, 0x2a, nonce);
  return { framed: new Framed(buf, true, chunk), bodyLength };
}

/** A gRPC length-prefixed message (flag byte, 4-byte big-endian length, message), built once, written to many streams. */
export class Framed {
  readonly bytes: Buffer;
  /** Writes of these bytes not flushed yet: a pooled frame's chunk is reused only once none is. */
  pending = 0;
  /** Let go by its owner: nothing will write it again, and its chunk goes back once `pending` is 0. */
  released = false;
  /**
   * `message` is copied after a new prefix, or used as is when `prefixed` (it already holds one);
   * `chunk` is the pooled buffer `message` is the start of (see FramePool).
   */
  constructor(
    message: Buffer,
    prefixed = false,
    public chunk?: Buffer,
  ) {
    if (prefixed) {
      this.bytes = message;
      return;
    }
    this.bytes = Buffer.allocUnsafe(message.length + 5);
    this.bytes.writeUInt8(0, 0);
    this.bytes.writeUInt32BE(message.length, 1);
    message.copy(this.bytes, 5);
  }
  get message(): Buffer {
    return this.bytes.subarray(5);
  }
}

/**
 * Lets a grpc-js server call write Framed messages as they are. grpc-js (1.14) copies every serialized
 * message into a new framed buffer; this hooks the call's own framing step (`serializeMessage` of the
 * interceptor-less base call) so a shared Framed reaches HTTP/2 uncopied. When the call has another shape
 * (interceptors, another grpc-js) nothing is hooked and the codec's `message` path is used: same bytes, one copy.
 */
export function writeFramedAsIs(call: unknown): void {
  const inner = (call as { call?: { serializeMessage?: unknown } }).call;
  const original = inner?.serializeMessage;
  if (!inner || typeof original !== 'function') return;
  inner.serializeMessage = function (this: unknown, m: unknown): Buffer {
    return m instanceof Framed ? m.bytes : original.call(this, m);
  };
}

export function decodeSotwRequest(bytes: Buffer): SotwRequest {
  const m = decode(`${PKG}DiscoveryRequest`, bytes);
  return {
    version_info: m.version_info ?? '',
    node: nodeOf(m.node),
    resource_names: m.resource_names ?? [],
    type_url: m.type_url ?? '',
    response_nonce: m.response_nonce ?? '',
    error_detail: errorOf(m.error_detail),
  };
}

export function decodeDeltaRequest(bytes: Buffer): DeltaRequest {
  const m = decode(`${PKG}DeltaDiscoveryRequest`, bytes);
  return {
    node: nodeOf(m.node),
    type_url: m.type_url ?? '',
    resource_names_subscribe: m.resource_names_subscribe ?? [],
    resource_names_unsubscribe: m.resource_names_unsubscribe ?? [],
    initial_resource_versions: m.initial_resource_versions ?? {},
    response_nonce: m.response_nonce ?? '',
    error_detail: errorOf(m.error_detail),
  };
}

const sotwMethod = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: (r: object) => encode(`${PKG}DiscoveryRequest`, r),
  requestDeserialize: decodeSotwRequest,
  responseSerialize: (r: SotwWire | Buffer | Framed) =>
    r instanceof Framed ? r.message : Buffer.isBuffer(r) ? r : encode(`${PKG}DiscoveryResponse`, r),
  responseDeserialize: (b: Buffer) => decode(`${PKG}DiscoveryResponse`, b),
});

const deltaMethod = (path: string) => ({
  path,
  requestStream: true,
  responseStream: true,
  requestSerialize: (r: object) => encode(`${PKG}DeltaDiscoveryRequest`, r),
  requestDeserialize: decodeDeltaRequest,
  responseSerialize: (r: DeltaWire) => encode(`${PKG}DeltaDiscoveryResponse`, r),
  responseDeserialize: (b: Buffer) => decode(`${PKG}DeltaDiscoveryResponse`, b),
});

/** One xDS gRPC service: its definition (hand-made codecs) and the type URL its per-type methods serve. */
export interface XdsService {
  definition: grpc.ServiceDefinition;
  /** Undefined for ADS (the request names the type). */
  typeUrl?: string;
  stream: string;
  delta: string;
  fetch?: string;
}

function perType(service: string, typeUrl: string, noun: string): XdsService {
  const base = `/${service}/`;
  return {
    typeUrl,
    stream: `Stream${noun}`,
    delta: `Delta${noun}`,
    fetch: `Fetch${noun}`,
    definition: {
      [`Stream${noun}`]: sotwMethod(`${base}Stream${noun}`, true, true),
      [`Delta${noun}`]: deltaMethod(`${base}Delta${noun}`),
      [`Fetch${noun}`]: sotwMethod(`${base}Fetch${noun}`, false, false),
    } as grpc.ServiceDefinition,
  };
}

/** ADS plus the four per-type discovery services, all with hand-made codecs (responses never re-encode a resource). */
export const XDS_SERVICES: readonly XdsService[] = [
  {
    stream: 'StreamAggregatedResources',
    delta: 'DeltaAggregatedResources',
    definition: {
      StreamAggregatedResources: sotwMethod(
        `/${PKG}AggregatedDiscoveryService/StreamAggregatedResources`,
        true,
        true,
      ),
      DeltaAggregatedResources: deltaMethod(`/${PKG}AggregatedDiscoveryService/DeltaAggregatedResources`),
    } as grpc.ServiceDefinition,
  },
  perType('envoy.service.cluster.v3.ClusterDiscoveryService', TypeUrl.Cluster, 'Clusters'),
  perType('envoy.service.endpoint.v3.EndpointDiscoveryService', TypeUrl.ClusterLoadAssignment, 'Endpoints'),
  perType('envoy.service.listener.v3.ListenerDiscoveryService', TypeUrl.Listener, 'Listeners'),
  perType('envoy.service.route.v3.RouteDiscoveryService', TypeUrl.RouteConfiguration, 'Routes'),
];
