// EnvoyFilter patch values: user Envoy JSON (v2 names, camelCase) -> v3 object form, and proto-style merge. Pure.
import { typed } from '@keel/proto';
import type { EnvoyObject } from './route-spec.js';

/** v2 (Istio 1.4 era) filter names -> v3 names. */
export const V2_FILTER_NAMES: Readonly<Record<string, string>> = {
  'envoy.router': 'envoy.filters.http.router',
  'envoy.cors': 'envoy.filters.http.cors',
  'envoy.fault': 'envoy.filters.http.fault',
  'envoy.grpc_web': 'envoy.filters.http.grpc_web',
  'envoy.lua': 'envoy.filters.http.lua',
  'envoy.ext_authz': 'envoy.filters.http.ext_authz',
  'envoy.filters.http.jwt_authn': 'envoy.filters.http.jwt_authn',
  'envoy.http_connection_manager': 'envoy.filters.network.http_connection_manager',
  'envoy.tcp_proxy': 'envoy.filters.network.tcp_proxy',
  'envoy.mongo_proxy': 'envoy.filters.network.mongo_proxy',
  'envoy.redis_proxy': 'envoy.filters.network.redis_proxy',
  'envoy.listener.tls_inspector': 'envoy.filters.listener.tls_inspector',
  'envoy.listener.original_dst': 'envoy.filters.listener.original_dst',
  'envoy.listener.http_inspector': 'envoy.filters.listener.http_inspector',
  'envoy.transport_sockets.tls': 'envoy.transport_sockets.tls',
};

/** v3 filter name -> config message type, for filters whose .proto Keel loads (used to convert v2 `config`). */
export const FILTER_CONFIG_TYPES: Readonly<Record<string, string>> = {
  'envoy.filters.http.router': 'envoy.extensions.filters.http.router.v3.Router',
  'envoy.filters.http.cors': 'envoy.extensions.filters.http.cors.v3.Cors',
  'envoy.filters.http.fault': 'envoy.extensions.filters.http.fault.v3.HTTPFault',
  'envoy.filters.http.grpc_web': 'envoy.extensions.filters.http.grpc_web.v3.GrpcWeb',
  'envoy.filters.http.ext_authz': 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
  'envoy.filters.http.rbac': 'envoy.extensions.filters.http.rbac.v3.RBAC',
  'envoy.filters.http.jwt_authn': 'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
  'envoy.filters.network.http_connection_manager':
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  'envoy.filters.network.tcp_proxy': 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  'envoy.filters.network.rbac': 'envoy.extensions.filters.network.rbac.v3.RBAC',
  'envoy.filters.listener.tls_inspector': 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
};

/** The v3 name for a (possibly v2) filter name. */
export function v3FilterName(name: string): string {
  return V2_FILTER_NAMES[name] ?? name;
}

function snake(key: string): string {
  if (key.startsWith('@')) return key;
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

const isObject = (v: unknown): v is EnvoyObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/**
 * Converts a user patch value to v3 object form: keys to snake_case (`@type` kept), v2 filter names
 * mapped, and a v2 `config` body turned into `typed_config` when the filter's v3 type is known.
 */
export function convertPatchValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(convertPatchValue);
  if (!isObject(value)) return value;
  const out: EnvoyObject = {};
  for (const [k, v] of Object.entries(value)) out[snake(k)] = convertPatchValue(v);
  if (typeof out.name === 'string') out.name = v3FilterName(out.name);
  if (
    isObject(out.config) &&
    typeof out.name === 'string' &&
    FILTER_CONFIG_TYPES[out.name] &&
    !out.typed_config
  ) {
    out.typed_config = typed(FILTER_CONFIG_TYPES[out.name]!, out.config);
    delete out.config;
  }
  return out;
}

/** Proto merge: messages merge recursively, repeated fields append, scalars replace; an Any of another type replaces. */
export function protoMerge(target: EnvoyObject, patch: EnvoyObject): EnvoyObject {
  if (patch['@type'] !== undefined && target['@type'] !== undefined && patch['@type'] !== target['@type'])
    return { ...patch };
  const out: EnvoyObject = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k];
    if (Array.isArray(v) && Array.isArray(cur)) out[k] = [...cur, ...v];
    else if (isObject(v) && isObject(cur)) out[k] = protoMerge(cur, v);
    else out[k] = v;
  }
  return out;
}

/** Deep copy of resource objects (plain data plus Uint8Array). */
export function cloneResource<T>(value: T): T {
  return structuredClone(value);
}
