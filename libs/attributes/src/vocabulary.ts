import type { ValueTypeName } from './values.js';
import { ValueType } from './values.js';

/** Attribute name -> value type: what expressions are type-checked against. */
export type AttributeManifest = ReadonlyMap<string, ValueTypeName>;

const ISTIO_PROXY =
  'origin.ip:IP_ADDRESS origin.uid:STRING origin.user:STRING request.headers:STRING_MAP request.id:STRING ' +
  'request.host:STRING request.method:STRING request.path:STRING request.url_path:STRING ' +
  'request.query_params:STRING_MAP request.reason:STRING request.referer:STRING request.scheme:STRING ' +
  'request.total_size:INT64 request.size:INT64 request.time:TIMESTAMP request.useragent:STRING ' +
  'response.code:INT64 response.duration:DURATION response.headers:STRING_MAP response.total_size:INT64 ' +
  'response.size:INT64 response.time:TIMESTAMP response.grpc_status:STRING response.grpc_message:STRING ' +
  'source.uid:STRING source.user:STRING source.principal:STRING destination.uid:STRING ' +
  'destination.principal:STRING destination.port:INT64 connection.event:STRING connection.id:STRING ' +
  'connection.received.bytes:INT64 connection.received.bytes_total:INT64 connection.sent.bytes:INT64 ' +
  'connection.sent.bytes_total:INT64 connection.duration:DURATION connection.mtls:BOOL ' +
  'connection.requested_server_name:STRING context.protocol:STRING context.proxy_error_code:STRING ' +
  'context.timestamp:TIMESTAMP context.time:TIMESTAMP context.reporter.local:BOOL context.reporter.kind:STRING ' +
  'context.reporter.uid:STRING context.proxy_version:STRING api.service:STRING api.version:STRING ' +
  'api.operation:STRING api.protocol:STRING request.auth.principal:STRING request.auth.audiences:STRING ' +
  'request.auth.presenter:STRING request.auth.claims:STRING_MAP request.auth.raw_claims:STRING ' +
  'request.api_key:STRING rbac.permissive.response_code:STRING rbac.permissive.effective_policy_id:STRING ' +
  'check.error_code:INT64 check.error_message:STRING check.cache_hit:BOOL quota.cache_hit:BOOL';

const KUBERNETES =
  'source.ip:IP_ADDRESS source.labels:STRING_MAP source.metadata:STRING_MAP source.name:STRING ' +
  'source.namespace:STRING source.owner:STRING source.serviceAccount:STRING source.services:STRING ' +
  'source.workload.uid:STRING source.workload.name:STRING source.workload.namespace:STRING ' +
  'destination.ip:IP_ADDRESS destination.labels:STRING_MAP destination.metadata:STRING_MAP ' +
  'destination.name:STRING destination.namespace:STRING destination.owner:STRING ' +
  'destination.service.uid:STRING destination.service.name:STRING destination.service.namespace:STRING ' +
  'destination.service.host:STRING destination.serviceAccount:STRING destination.workload.uid:STRING ' +
  'destination.workload.name:STRING destination.workload.namespace:STRING destination.container.name:STRING ' +
  'destination.container.image:STRING';

function parseList(text: string): [string, ValueTypeName][] {
  return text.split(' ').map((e) => {
    const i = e.indexOf(':');
    return [e.slice(0, i), e.slice(i + 1) as ValueTypeName];
  });
}

/** Istio 1.4's default manifests `istioproxy` and `kubernetes` (spec section 4.4), merged. */
export const DEFAULT_MANIFEST: AttributeManifest = new Map([
  ...parseList(ISTIO_PROXY),
  ...parseList(KUBERNETES),
]);

/** One `attributemanifest` resource's spec, as the config store delivers it. */
export interface AttributeManifestSpec {
  revision?: string;
  name?: string;
  attributes?: Record<string, { valueType?: string; description?: string } | null>;
}

/**
 * Reads the attributes of an `attributemanifest` spec: every well-formed entry, plus one message per
 * bad entry (unknown valueType, bad name). Value types may be names or Istio's numbers.
 */
export function manifestFromSpec(spec: AttributeManifestSpec): {
  attributes: Map<string, ValueTypeName>;
  errors: string[];
} {
  const attributes = new Map<string, ValueTypeName>();
  const errors: string[] = [];
  for (const [name, def] of Object.entries(spec.attributes ?? {})) {
    if (!/^[A-Za-z_][\w.-]*$/.test(name) || name.length > 256) {
      errors.push(`attributes.${name}: invalid attribute name`);
      continue;
    }
    const vt = typeName(def?.valueType);
    if (!vt) {
      errors.push(`attributes.${name}.valueType: unknown value type ${JSON.stringify(def?.valueType)}`);
      continue;
    }
    attributes.set(name, vt);
  }
  return { attributes, errors };
}

function typeName(v: unknown): ValueTypeName | undefined {
  if (typeof v === 'string' && v in ValueType && v !== 'VALUE_TYPE_UNSPECIFIED') return v as ValueTypeName;
  if (typeof v === 'number') {
    const hit = Object.entries(ValueType).find(([, n]) => n === v);
    if (hit && hit[1] !== 0) return hit[0] as ValueTypeName;
  }
  return undefined;
}

/** Several manifests merged, later ones winning. */
export function mergeManifests(...manifests: AttributeManifest[]): AttributeManifest {
  const out = new Map<string, ValueTypeName>();
  for (const m of manifests) for (const [k, v] of m) out.set(k, v);
  return out;
}
