// Gateway LDS for router proxies (Istio 1.4 gateway.go buildGatewayListeners). Pure.
import { typed } from '@keel/proto';
import { FilterNames, listenerName } from '../model/names.js';
import { hostMatches } from '../model/scope.js';
import type { Proxy as ProxyNode, PushContext } from '../model/types.js';
import {
  bareHost,
  gatewaysForProxy,
  isHttpServer,
  isPassthroughServer,
  type MergedServer,
  mergeGateways,
} from './gateway-merge.js';
import { virtualServicesForGateway } from './gateway-routes.js';
import { gatewayTransportSocket } from './gateway-tls.js';
import {
  autoPassthroughFilters,
  type L4Context,
  tcpProxyFilter,
  tcpRouteDestinations,
  tlsSniRoutes,
} from './route-l4.js';
import type { EnvoyObject } from './route-spec.js';

export { gatewaysForProxy, mergeGateways } from './gateway-merge.js';
export { buildGatewayRoutes } from './gateway-routes.js';

export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** Options for composing gateway listeners with other plugins' filters. */
export interface GatewayListenerOptions {
  /** HTTP filters placed before cors, fault and router (authn, rbac, ...). */
  httpFilters?: EnvoyObject[];
}

/** cors, fault, router (router last), after any plugin filters. */
export function standardHttpFilters(extra: readonly EnvoyObject[] = []): EnvoyObject[] {
  return [
    ...extra,
    { name: FilterNames.cors, typed_config: typed('envoy.extensions.filters.http.cors.v3.Cors', {}) },
    { name: FilterNames.fault, typed_config: typed('envoy.extensions.filters.http.fault.v3.HTTPFault', {}) },
    { name: FilterNames.router, typed_config: typed('envoy.extensions.filters.http.router.v3.Router', {}) },
  ];
}

/** HCM for a gateway server: RDS over ADS (v3), remote address trusted, client cert details sanitized. */
export function gatewayHttpConnectionManager(
  statPrefix: string,
  routeName: string,
  opts: GatewayListenerOptions,
): EnvoyObject {
  return {
    name: FilterNames.httpConnectionManager,
    typed_config: typed(HCM_TYPE, {
      stat_prefix: statPrefix,
      codec_type: 'AUTO',
      rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: routeName },
      http_filters: standardHttpFilters(opts.httpFilters),
      use_remote_address: { value: true },
      generate_request_id: { value: true },
      server_name: 'istio-envoy',
      forward_client_cert_details: 'SANITIZE_SET',
      set_current_client_cert_details: { subject: { value: true }, uri: true, dns: true },
      upgrade_configs: [{ upgrade_type: 'websocket' }],
      normalize_path: { value: true },
    }),
  };
}

/** SNI names for a server: its bare hosts, sorted, deduplicated; `*` means no SNI match at all. */
export function sniHostsForServer(server: MergedServer): string[] {
  const hosts = [...new Set(server.server.hosts.map(bareHost))].sort();
  return hosts.includes('*') ? [] : hosts;
}

function chain(
  serverNames: readonly string[],
  filters: EnvoyObject[],
  transportSocket?: EnvoyObject,
): EnvoyObject {
  const out: EnvoyObject = {};
  if (serverNames.length > 0) out.filter_chain_match = { server_names: [...serverNames] };
  out.filters = filters;
  if (transportSocket) out.transport_socket = transportSocket;
  return out;
}

function l4Context(proxy: ProxyNode, port: number, server: MergedServer): L4Context {
  return { port, gateways: new Set([server.gateway]), proxyLabels: proxy.labels };
}

/** VS hosts in `hosts` that overlap one of the server's hosts. */
function overlapsServer(server: MergedServer, hosts: readonly string[]): boolean {
  const sh = server.server.hosts.map(bareHost);
  return hosts.some((v) => sh.some((s) => hostMatches(s, v) || hostMatches(v, s)));
}

function tcpChains(push: PushContext, proxy: ProxyNode, server: MergedServer, port: number): EnvoyObject[] {
  const ctx = l4Context(proxy, port, server);
  const serviceFor = (h: string) => push.serviceByHost.get(h);
  for (const vs of virtualServicesForGateway(push, proxy, server.gateway)) {
    if (!overlapsServer(server, vs.spec.hosts ?? [])) continue;
    const routes = tcpRouteDestinations(vs, port, ctx);
    if (!routes || routes.length === 0) continue;
    const filter = tcpProxyFilter(vs, routes, port, push.domain, serviceFor);
    const tls = server.server.tls;
    if (!tls) return [chain([], [filter])];
    return [chain(sniHostsForServer(server), [filter], gatewayTransportSocket(tls, proxy, push.mesh))];
  }
  return [];
}

function passthroughChains(
  push: PushContext,
  proxy: ProxyNode,
  server: MergedServer,
  port: number,
): EnvoyObject[] {
  if (server.server.tls?.mode === 'AUTO_PASSTHROUGH')
    return [chain(sniHostsForServer(server), autoPassthroughFilters())];
  const ctx = l4Context(proxy, port, server);
  const serviceFor = (h: string) => push.serviceByHost.get(h);
  const seen = new Set<string>();
  const out: EnvoyObject[] = [];
  for (const vs of virtualServicesForGateway(push, proxy, server.gateway)) {
    if (!overlapsServer(server, vs.spec.hosts ?? [])) continue;
    for (const r of tlsSniRoutes(vs, ctx, seen)) {
      if (r.route.length === 0) continue;
      out.push(chain(r.sniHosts, [tcpProxyFilter(vs, r.route, port, push.domain, serviceFor)]));
    }
  }
  return out;
}

function serverChains(
  push: PushContext,
  proxy: ProxyNode,
  server: MergedServer,
  port: number,
  opts: GatewayListenerOptions,
): EnvoyObject[] {
  const statPrefix = `outbound_0.0.0.0_${port}`;
  const tls = server.server.tls;
  if (isHttpServer(server.server)) {
    const hcm = gatewayHttpConnectionManager(statPrefix, server.routeName, opts);
    if (server.protocol !== 'HTTPS' || !tls) return [chain([], [hcm])];
    return [chain(sniHostsForServer(server), [hcm], gatewayTransportSocket(tls, proxy, push.mesh))];
  }
  if (tls && isPassthroughServer(server.server)) return passthroughChains(push, proxy, server, port);
  return tcpChains(push, proxy, server, port);
}

/** One listener for a port's merged servers; undefined when no filter chain results. */
function portListener(
  push: PushContext,
  proxy: ProxyNode,
  port: number,
  servers: MergedServer[],
  opts: GatewayListenerOptions,
): EnvoyObject | undefined {
  const first = servers[0]!;
  const chains =
    first.protocol !== 'HTTPS' && isHttpServer(first.server)
      ? serverChains(push, proxy, first, port, opts)
      : servers.flatMap((s) => serverChains(push, proxy, s, port, opts));
  if (chains.length === 0) return undefined;
  const listener: EnvoyObject = {
    name: listenerName('0.0.0.0', port),
    address: { socket_address: { address: '0.0.0.0', port_value: port } },
    filter_chains: chains,
    traffic_direction: 'OUTBOUND',
  };
  if (chains.some((c) => c.filter_chain_match || c.transport_socket)) {
    listener.listener_filters = [
      {
        name: FilterNames.tlsInspector,
        typed_config: typed('envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector', {}),
      },
    ];
  }
  return listener;
}

/** Gateway listeners `0.0.0.0_<port>`, sorted by port; non-router proxies get none. */
export function buildGatewayListeners(
  push: PushContext,
  proxy: ProxyNode,
  opts: GatewayListenerOptions = {},
): EnvoyObject[] {
  const merged = mergeGateways(gatewaysForProxy(push, proxy));
  const out: EnvoyObject[] = [];
  for (const port of [...merged.serversByPort.keys()].sort((a, b) => a - b)) {
    const l = portListener(push, proxy, port, merged.serversByPort.get(port)!, opts);
    if (l) out.push(l);
  }
  return out;
}
