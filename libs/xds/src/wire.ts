import type * as grpc from '@grpc/grpc-js';
import { type AnyMessage, lookupType, structToJson, TypeUrl } from '@keel/proto';

/** The client's node as plain JSON (metadata converted from google.protobuf.Struct). */
export interface NodeInfo {
  id: string;
  cluster: string;
  metadata: Record<string, unknown>;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name?: string;
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
  if (n.user_agent_name) node.user_agent_name = n.user_agent_name;
  return node;
}

function errorOf(e: Obj | undefined): ErrorDetail | undefined {
  return e ? { code: e.code ?? 0, message: e.message ?? '' } : undefined;
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
  responseSerialize: (r: SotwWire) => encode(`${PKG}DiscoveryResponse`, r),
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
