import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { lookupType, serviceDefinition } from '@keel/proto';
import type { McpResource } from './types.js';

/** Service full names of the MCP gRPC services. */
export const RESOURCE_SOURCE_SERVICE = 'istio.mcp.v1alpha1.ResourceSource';
/** Response header naming the source's version. */
export const SOURCE_VERSION_HEADER = 'config.source.version';

// Wire forms as proto-loader hands them over (keepCase, longs as strings, defaults off).
export interface WireTimestamp {
  seconds?: string | number;
  nanos?: number;
}
export interface WireResource {
  metadata?: {
    name?: string;
    create_time?: WireTimestamp;
    version?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  body?: { type_url?: string; value?: Uint8Array };
}
export interface WireStatus {
  code?: number;
  message?: string;
}
export interface WireRequest {
  sink_node?: { id?: string; annotations?: Record<string, string> };
  collection?: string;
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: WireStatus;
  incremental?: boolean;
}
export interface WireResources {
  system_version_info?: string;
  collection?: string;
  resources?: WireResource[];
  removed_resources?: string[];
  nonce?: string;
  incremental?: boolean;
}

/** gRPC status codes with the names Istio's metrics use (Go `codes.Code.String()`). */
const CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

/** The Go-style name of a gRPC status code, e.g. 3 -> `InvalidArgument`. */
export function codeName(code: number | undefined): string {
  return CODE_NAMES[code ?? 2] ?? `Code(${code})`;
}

function nonEmpty(map: Record<string, string> | undefined): Record<string, string> | undefined {
  return map && Object.keys(map).length > 0 ? { ...map } : undefined;
}

/** McpResource -> the wire Resource message. */
export function toWireResource(r: McpResource): WireResource {
  const m = r.metadata;
  const metadata: WireResource['metadata'] = { name: m.name, version: m.version };
  if (m.labels) metadata.labels = m.labels;
  if (m.annotations) metadata.annotations = m.annotations;
  if (m.createTime) {
    const ms = m.createTime.getTime();
    const seconds = Math.floor(ms / 1000);
    metadata.create_time = { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1e6 };
  }
  return { metadata, body: { type_url: r.body.type_url, value: r.body.value } };
}

/** The wire Resource message -> McpResource; a resource without a name is malformed. */
export function fromWireResource(w: WireResource): McpResource {
  const m = w.metadata ?? {};
  if (!m.name) throw new Error('resource without metadata.name');
  const metadata: McpResource['metadata'] = { name: m.name, version: m.version ?? '' };
  const labels = nonEmpty(m.labels);
  const annotations = nonEmpty(m.annotations);
  if (labels) metadata.labels = labels;
  if (annotations) metadata.annotations = annotations;
  if (m.create_time) {
    const ms = Number(m.create_time.seconds ?? 0) * 1000 + Math.floor((m.create_time.nanos ?? 0) / 1e6);
    metadata.createTime = new Date(ms);
  }
  return { metadata, body: { type_url: w.body?.type_url ?? '', value: w.body?.value ?? new Uint8Array() } };
}

const keys = new WeakMap<readonly McpResource[], string>();

/** Identity of a collection's content: its (name, version) pairs, order-insensitive. Cached per array. */
export function contentKey(resources: readonly McpResource[]): string {
  const cached = keys.get(resources);
  if (cached !== undefined) return cached;
  const hash = createHash('sha256');
  const pairs = resources.map((r) => `${r.metadata.name}\0${r.metadata.version}\n`).sort();
  for (const p of pairs) hash.update(p);
  const key = `${resources.length}:${hash.digest('hex')}`;
  keys.set(resources, key);
  return key;
}

/** name -> version of a set of resources. */
export function versionsOf(resources: Iterable<McpResource>): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of resources) out.set(r.metadata.name, r.metadata.version);
  return out;
}

let sinkClient: grpc.ServiceClientConstructor | undefined;

/**
 * A ResourceSource client whose responses keep every Any as `{type_url, value}`: proto-loader's
 * own deserializer (json: true) would expand known Any types into `{'@type', ...fields}`.
 */
export function resourceSourceClient(): grpc.ServiceClientConstructor {
  if (sinkClient) return sinkClient;
  const base = serviceDefinition(RESOURCE_SOURCE_SERVICE);
  const method = base.EstablishResourceStream;
  if (!method) throw new Error('ResourceSource has no EstablishResourceStream');
  const type = lookupType('istio.mcp.v1alpha1.Resources');
  const responseDeserialize = (bytes: Buffer): WireResources =>
    type.toObject(type.decode(bytes), { longs: String, enums: String, bytes: Buffer, defaults: false });
  const definition = { ...base, EstablishResourceStream: { ...method, responseDeserialize } };
  sinkClient = grpc.makeGenericClientConstructor(definition, 'ResourceSource');
  return sinkClient;
}
