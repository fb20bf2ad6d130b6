// Proxyless gRPC (Proxy.generator 'grpc'): API listeners and route configs grpc-js-xds accepts. Pure.
import { typed } from '@keel/proto';
import { type Degradation, profileOf } from '../model/client.js';
import { FilterNames } from '../model/names.js';
import type { Proxy as ProxyNode, PushContext } from '../model/types.js';
import { routeForClient } from './client-routes.js';
import { routeOrigin } from './envoy-rules.js';
import { HCM_TYPE } from './gateway.js';
import { altHostNames, domainName } from './route-hosts.js';
import type { EnvoyObject } from './route-spec.js';
import {
  emptyRouteConfiguration,
  type RouteConfiguration,
  routablePort,
  sidecarVirtualHosts,
} from './routes.js';

/** Fault then router: the HTTP filters grpc-js-xds implements (router must be last). */
export function grpcHttpFilters(): EnvoyObject[] {
  return [
    { name: FilterNames.fault, typed_config: typed('envoy.extensions.filters.http.fault.v3.HTTPFault', {}) },
    { name: FilterNames.router, typed_config: typed('envoy.extensions.filters.http.router.v3.Router', {}) },
  ];
}

/** Names a client may dial for `host:port`: the FQDN form, then the short forms for the proxy's namespace. */
export function grpcListenerNames(host: string, port: number, proxyDomain: string): string[] {
  return [host, ...altHostNames(host, proxyDomain)].map((h) => domainName(h, port));
}

/**
 * One API listener per dialable name of every visible HTTP-family (or Unsupported) service port.
 * Each points at RDS `"<port>"`, whose virtual hosts carry the same `host:port` domains.
 */
export function buildGrpcListeners(push: PushContext, proxy: ProxyNode): EnvoyObject[] {
  const out = new Map<string, EnvoyObject>();
  for (const svc of push.sidecarScope(proxy).services) {
    if (svc.hostname.includes('*')) continue;
    for (const p of svc.ports) {
      if (!routablePort(p)) continue;
      for (const name of grpcListenerNames(svc.hostname, p.port, proxy.dnsDomain)) {
        if (out.has(name)) continue;
        out.set(name, {
          name,
          api_listener: {
            api_listener: typed(HCM_TYPE, {
              stat_prefix: name,
              rds: {
                config_source: { ads: {}, resource_api_version: 'V3' },
                route_config_name: String(p.port),
              },
              http_filters: grpcHttpFilters(),
            }),
          },
        });
      }
    }
  }
  return [...out.values()];
}

/** Keeps what grpc-js-xds accepts: forwarding routes, fault overrides, retries without Envoy host predicates. */
function grpcRoute(route: EnvoyObject): EnvoyObject | undefined {
  const action = route.route as EnvoyObject | undefined;
  if (!action) return undefined;
  const out: EnvoyObject = { ...route };
  const perFilter = route.typed_per_filter_config as EnvoyObject | undefined;
  delete out.typed_per_filter_config;
  if (perFilter?.[FilterNames.fault])
    out.typed_per_filter_config = { [FilterNames.fault]: perFilter[FilterNames.fault] };
  const retry = action.retry_policy as EnvoyObject | undefined;
  if (retry) {
    const { retry_host_predicate: _p, host_selection_retry_max_attempts: _m, ...rest } = retry;
    out.route = { ...action, retry_policy: rest };
  }
  return out;
}

/** Route configs `"<port>"` for gRPC clients: the sidecar virtual hosts minus unsupported parts, no fallthrough. */
export function buildGrpcRoutes(
  push: PushContext,
  proxy: ProxyNode,
  routeNames: string[],
  degraded?: Degradation[],
): RouteConfiguration[] {
  const client = profileOf(proxy);
  return routeNames.map((name) => {
    const port = /^\d+$/.test(name) ? Number(name) : 0;
    if (port <= 0 || port > 65535) return emptyRouteConfiguration(name);
    const vhosts: EnvoyObject[] = [];
    for (const vh of sidecarVirtualHosts(push, proxy, port)) {
      const routes = (vh.routes as EnvoyObject[])
        .map((r) => {
          const config = routeOrigin.get(r);
          const kept = grpcRoute(r);
          return (
            kept &&
            routeForClient(kept, client, (d) =>
              degraded?.push({
                client: client.kind,
                type: 'route',
                resource: name,
                ...d,
                ...(config ? { config } : {}),
              }),
            )
          );
        })
        .filter((r): r is EnvoyObject => !!r);
      if (routes.length > 0) vhosts.push({ ...vh, routes });
    }
    return { name, virtual_hosts: vhosts, validate_clusters: { value: false } };
  });
}
