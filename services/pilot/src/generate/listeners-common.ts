// Building blocks shared by sidecar listeners: HCM, tcp_proxy, filter order, listener shells. Pure.
import { TypeName, typed } from '@keel/proto';
import { FilterNames, listenerName } from '../model/names.js';
import type { EnvoyObject } from './route-spec.js';

export const LISTENER_TYPE = TypeName.Listener;
export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const TCP_PROXY_TYPE = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';
export const CORS_TYPE = 'envoy.extensions.filters.http.cors.v3.Cors';
export const FAULT_TYPE = 'envoy.extensions.filters.http.fault.v3.HTTPFault';
export const GRPC_WEB_TYPE = 'envoy.extensions.filters.http.grpc_web.v3.GrpcWeb';
export const TLS_INSPECTOR_TYPE = 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
export const ORIGINAL_DST_TYPE = 'envoy.extensions.filters.listener.original_dst.v3.OriginalDst';
export const HTTP_INSPECTOR_TYPE = 'envoy.extensions.filters.listener.http_inspector.v3.HttpInspector';

/** Counters a listener build fills in (Istio's pilot_conflict_* and skipped-config metrics). */
export interface ListenerStats {
  conflictHttpOverTcp: number;
  conflictTcpOverHttp: number;
  conflictTcpOverTcp: number;
  /** Mixer servers named in the mesh config but absent from the proxy's view (no filter emitted). */
  mixerServerMissing: number;
  /** JWT providers whose jwks host is not a visible service (remote_jwks cluster would not exist). */
  jwksClusterMissing: number;
}

export function newListenerStats(): ListenerStats {
  return {
    conflictHttpOverTcp: 0,
    conflictTcpOverHttp: 0,
    conflictTcpOverTcp: 0,
    mixerServerMissing: 0,
    jwksClusterMissing: 0,
  };
}

/** Plugin filters computed for one chain; the standard tail (grpc_web, cors, fault, router) is added here. */
export interface HttpPluginFilters {
  jwt?: EnvoyObject;
  rbac?: EnvoyObject;
  extAuthz?: EnvoyObject;
}

/** Istio 1.4 order: jwt_authn, rbac, ext_authz (mixer), grpc_web (grpc-web ports), cors, fault, router last. */
export function orderedHttpFilters(plugins: HttpPluginFilters, grpcWeb: boolean): EnvoyObject[] {
  const out: EnvoyObject[] = [];
  if (plugins.jwt) out.push(plugins.jwt);
  if (plugins.rbac) out.push(plugins.rbac);
  if (plugins.extAuthz) out.push(plugins.extAuthz);
  if (grpcWeb) out.push({ name: FilterNames.grpcWeb, typed_config: typed(GRPC_WEB_TYPE, {}) });
  out.push({ name: FilterNames.cors, typed_config: typed(CORS_TYPE, {}) });
  out.push({ name: FilterNames.fault, typed_config: typed(FAULT_TYPE, {}) });
  out.push({ name: FilterNames.router, typed_config: typed(ROUTER_TYPE, {}) });
  return out;
}

export interface HcmOptions {
  statPrefix: string;
  /** RDS name over ADS, or an inline route configuration. */
  rdsName?: string;
  routeConfig?: EnvoyObject;
  httpFilters: EnvoyObject[];
  accessLog?: EnvoyObject[];
  inbound: boolean;
}

/** HttpConnectionManager network filter (sidecar flavour: inbound forwards client cert details). */
export function httpConnectionManager(o: HcmOptions): EnvoyObject {
  const body: EnvoyObject = { stat_prefix: o.statPrefix, codec_type: 'AUTO' };
  if (o.rdsName !== undefined) {
    body.rds = { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: o.rdsName };
  } else {
    body.route_config = o.routeConfig;
  }
  body.http_filters = o.httpFilters;
  if (o.accessLog && o.accessLog.length > 0) body.access_log = o.accessLog;
  body.use_remote_address = { value: false };
  body.generate_request_id = { value: true };
  body.upgrade_configs = [{ upgrade_type: 'websocket' }];
  body.stream_idle_timeout = { seconds: 0, nanos: 0 };
  if (o.inbound) {
    body.forward_client_cert_details = 'APPEND_FORWARD';
    body.set_current_client_cert_details = { subject: { value: true }, uri: true, dns: true };
    body.server_name = 'istio-envoy';
  }
  return { name: FilterNames.httpConnectionManager, typed_config: typed(HCM_TYPE, body) };
}

/** tcp_proxy to one cluster (stat prefix = cluster name), with optional access loggers. */
export function tcpProxy(cluster: string, accessLog?: EnvoyObject[]): EnvoyObject {
  const body: EnvoyObject = { stat_prefix: cluster, cluster };
  if (accessLog && accessLog.length > 0) body.access_log = accessLog;
  return { name: FilterNames.tcpProxy, typed_config: typed(TCP_PROXY_TYPE, body) };
}

/** Adds access loggers to an existing tcp_proxy filter (returns a new object). */
export function withTcpAccessLog(filter: EnvoyObject, accessLog: EnvoyObject[] | undefined): EnvoyObject {
  if (!accessLog || accessLog.length === 0 || filter.name !== FilterNames.tcpProxy) return filter;
  const cfg = filter.typed_config as EnvoyObject;
  return { ...filter, typed_config: { ...cfg, access_log: accessLog } };
}

export function tlsInspector(): EnvoyObject {
  return { name: FilterNames.tlsInspector, typed_config: typed(TLS_INSPECTOR_TYPE, {}) };
}

export function httpInspector(): EnvoyObject {
  return { name: FilterNames.httpInspector, typed_config: typed(HTTP_INSPECTOR_TYPE, {}) };
}

export function originalDst(): EnvoyObject {
  return { name: FilterNames.originalDst, typed_config: typed(ORIGINAL_DST_TYPE, {}) };
}

/** A per-port listener shell: `<ip>_<port>`, bind_to_port false (v3 field), traffic direction. */
export function portListener(
  ip: string,
  port: number,
  direction: 'INBOUND' | 'OUTBOUND',
  chains: EnvoyObject[],
  listenerFilters: EnvoyObject[] = [],
): EnvoyObject {
  const l: EnvoyObject = {
    name: listenerName(ip, port),
    address: { socket_address: { address: ip, port_value: port } },
    filter_chains: chains,
    bind_to_port: { value: false },
    traffic_direction: direction,
  };
  if (listenerFilters.length > 0) {
    l.listener_filters = listenerFilters;
    l.listener_filters_timeout = { seconds: 0, nanos: 100_000_000 };
    l.continue_on_listener_filters_timeout = true;
  }
  return l;
}

/** True when a chain needs the TLS inspector (it terminates TLS or matches on ALPN/SNI). */
export function chainNeedsTlsInspector(chain: EnvoyObject): boolean {
  const m = (chain.filter_chain_match ?? {}) as EnvoyObject;
  return (
    chain.transport_socket !== undefined ||
    ((m.application_protocols as unknown[] | undefined)?.length ?? 0) > 0 ||
    ((m.server_names as unknown[] | undefined)?.length ?? 0) > 0 ||
    m.transport_protocol === 'tls'
  );
}

/** Listener filter names present, deduplicated, in Envoy's preferred order. */
export function listenerFiltersFor(chains: readonly EnvoyObject[], extra: EnvoyObject[] = []): EnvoyObject[] {
  const out = [...extra];
  if (chains.some(chainNeedsTlsInspector) && !out.some((f) => f.name === FilterNames.tlsInspector)) {
    out.push(tlsInspector());
  }
  return out;
}

export function byName(a: EnvoyObject, b: EnvoyObject): number {
  const x = String(a.name);
  const y = String(b.name);
  return x < y ? -1 : x > y ? 1 : 0;
}
