// VirtualService tcp/tls routes -> tcp_proxy network filters (Istio 1.4 networkfilter.go, gateway.go).
import { typed } from '@keel/proto';
import { BlackHoleCluster, FilterNames } from '../model/names.js';
import { resolveShortName } from '../model/push-context.js';
import type { ConfigEntry, Service } from '../model/types.js';
import { destinationCluster } from './route-action.js';
import { matchApplies } from './route-match.js';
import type { EnvoyObject, L4Match, RouteDestination, VirtualServiceSpec } from './route-spec.js';

export const TCP_PROXY_TYPE = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const SNI_CLUSTER_TYPE = 'envoy.extensions.filters.network.sni_cluster.v3.SniCluster';

/** Static predicates for L4 matches: proxy labels, gateways in force, listener port. */
export interface L4Context {
  port: number;
  gateways: ReadonlySet<string>;
  proxyLabels: Record<string, string>;
}

function anyMatchApplies(matches: L4Match[] | undefined, ctx: L4Context, ns: string): boolean {
  if (!matches || matches.length === 0) return true;
  return matches.some((m) => matchApplies(m, ctx, ns));
}

/** Destinations of the first `tcp` route whose matches apply (port, gateways, sourceLabels); undefined if none. */
export function tcpRouteDestinations(
  vs: ConfigEntry<VirtualServiceSpec>,
  port: number,
  ctx: Omit<L4Context, 'port'> = { gateways: new Set(['mesh']), proxyLabels: {} },
): RouteDestination[] | undefined {
  for (const tcp of vs.spec.tcp ?? []) {
    if (anyMatchApplies(tcp.match, { ...ctx, port }, vs.namespace)) return tcp.route ?? [];
  }
  return undefined;
}

/** One SNI filter-chain candidate of a `tls` route: its sniHosts and destinations. */
export interface TlsSniRoute {
  sniHosts: string[];
  route: RouteDestination[];
}

/**
 * `tls` route matches that apply statically, in order; a later match whose SNI host set was
 * already produced is dropped (Envoy rejects duplicate filter chain matches).
 */
export function tlsSniRoutes(
  vs: ConfigEntry<VirtualServiceSpec>,
  ctx: L4Context,
  seen = new Set<string>(),
): TlsSniRoute[] {
  const out: TlsSniRoute[] = [];
  for (const tls of vs.spec.tls ?? []) {
    for (const m of tls.match ?? []) {
      if (!matchApplies(m, ctx, vs.namespace)) continue;
      const hosts = [...(m.sniHosts ?? [])];
      const key = [...hosts].sort().join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ sniHosts: hosts, route: tls.route ?? [] });
    }
  }
  return out;
}

/** The tcp_proxy filter for `routes`: one cluster, or weighted clusters (zero weights dropped) named `<vs>.<ns>`. */
export function tcpProxyFilter(
  vs: ConfigEntry<VirtualServiceSpec>,
  routes: readonly RouteDestination[],
  port: number,
  domain: string,
  serviceFor: (host: string) => Service | undefined,
): EnvoyObject {
  const cluster = (d: RouteDestination) => {
    const host = resolveShortName(d.destination.host, vs.namespace, domain);
    return destinationCluster({ ...d.destination, host }, serviceFor(host), port);
  };
  let body: EnvoyObject;
  if (routes.length === 1) {
    const name = cluster(routes[0]!);
    body = { stat_prefix: name, cluster: name };
  } else {
    const clusters = routes
      .filter((d) => (d.weight ?? 0) > 0)
      .map((d) => ({ name: cluster(d), weight: d.weight }));
    body = { stat_prefix: `${vs.name}.${vs.namespace}`, weighted_clusters: { clusters } };
  }
  return { name: FilterNames.tcpProxy, typed_config: typed(TCP_PROXY_TYPE, body) };
}

/** AUTO_PASSTHROUGH: sni_cluster picks the cluster named by SNI; the tcp_proxy target is a placeholder. */
export function autoPassthroughFilters(): EnvoyObject[] {
  return [
    { name: FilterNames.sniCluster, typed_config: typed(SNI_CLUSTER_TYPE, {}) },
    {
      name: FilterNames.tcpProxy,
      typed_config: typed(TCP_PROXY_TYPE, { stat_prefix: BlackHoleCluster, cluster: BlackHoleCluster }),
    },
  ];
}
