// Gateway RDS (Istio 1.4 gateway.go buildGatewayHTTPRouteConfig).
import { normalizeExportTo } from '../model/registry.js';
import { exportedTo, hostMatches } from '../model/scope.js';
import type { ConfigEntry, Proxy as ProxyNode, PushContext } from '../model/types.js';
import { gatewaysForProxy, type MergedServer, mergeGateways } from './gateway-merge.js';
import { domainName } from './route-hosts.js';
import type { EnvoyObject, VirtualServiceSpec } from './route-spec.js';
import { vsGateways } from './route-spec.js';
import {
  buildHttpRoutes,
  emptyRouteConfiguration,
  type RouteConfiguration,
  type RouteContext,
} from './route-translate.js';

type VirtualService = ConfigEntry<VirtualServiceSpec>;

/** VirtualServices visible to the proxy's namespace and bound to `gateway` (`ns/name`), precedence order. */
export function virtualServicesForGateway(
  push: PushContext,
  proxy: ProxyNode,
  gateway: string,
): VirtualService[] {
  return (push.configs('VirtualService') as VirtualService[]).filter((vs) => {
    const exportTo = normalizeExportTo(vs.spec.exportTo, push.mesh.defaultVirtualServiceExportTo);
    return exportedTo(exportTo, vs.namespace, proxy.namespace) && vsGateways(vs).includes(gateway);
  });
}

/** Server hosts usable by a VS in `vsNamespace`: bare hosts, `*\/host`, `<vsNamespace>/host`, `./host` (gateway ns). */
export function serverHostsFor(server: MergedServer, vsNamespace: string): string[] {
  const out: string[] = [];
  for (const h of server.server.hosts) {
    const slash = h.indexOf('/');
    if (slash < 0) {
      out.push(h);
      continue;
    }
    const ns = h.slice(0, slash);
    if (ns === '*' || ns === vsNamespace || (ns === '.' && vsNamespace === server.gatewayNamespace))
      out.push(h.slice(slash + 1));
  }
  return out;
}

/** Hosts common to both lists, the more specific of each overlapping pair (Istio host.Names.Intersection). */
export function intersectHosts(serverHosts: readonly string[], vsHosts: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of serverHosts) {
    for (const v of vsHosts) {
      const pick = hostMatches(v, s) ? s : hostMatches(s, v) ? v : undefined;
      if (pick !== undefined && !out.includes(pick)) out.push(pick);
    }
  }
  return out;
}

function gatewayContext(push: PushContext, proxy: ProxyNode, port: number, gateway: string): RouteContext {
  const scope = push.sidecarScope(proxy);
  return {
    port,
    gateways: new Set([gateway]),
    proxyLabels: proxy.labels,
    domain: push.domain,
    serviceFor: (h) => push.serviceByHost.get(h),
    destinationRule: (h) => scope.destinationRule(h),
  };
}

function blackholeVirtualHost(port: number): EnvoyObject {
  return {
    name: `blackhole:${port}`,
    domains: ['*'],
    routes: [{ match: { prefix: '/' }, direct_response: { status: 404 } }],
  };
}

/** The route configuration for one gateway RDS name served by `servers` (all on one port). */
export function gatewayRouteConfiguration(
  push: PushContext,
  proxy: ProxyNode,
  routeName: string,
  servers: readonly MergedServer[],
): RouteConfiguration {
  const port = servers[0]!.server.port.number;
  const vhosts = new Map<string, EnvoyObject>();
  for (const server of servers) {
    const ctx = gatewayContext(push, proxy, port, server.gateway);
    for (const vs of virtualServicesForGateway(push, proxy, server.gateway)) {
      const hosts = intersectHosts(serverHostsFor(server, vs.namespace), vs.spec.hosts ?? []);
      if (hosts.length === 0) continue;
      const routes = buildHttpRoutes(vs, ctx);
      if (routes.length === 0) continue;
      for (const h of hosts) {
        const existing = vhosts.get(h);
        if (existing) {
          existing.routes = [...(existing.routes as EnvoyObject[]), ...routes];
          continue;
        }
        const vh: EnvoyObject = { name: domainName(h, port), domains: [h, domainName(h, port)], routes };
        if (server.server.tls?.httpsRedirect) vh.require_tls = 'ALL';
        vhosts.set(h, vh);
      }
    }
  }
  const list = vhosts.size > 0 ? [...vhosts.values()] : [blackholeVirtualHost(port)];
  list.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  return { name: routeName, virtual_hosts: list, validate_clusters: { value: false } };
}

/** Gateway RDS: `http.<port>` / `https.<port>.<portName>.<gw>.<ns>`; unknown names get an empty configuration. */
export function buildGatewayRoutes(
  push: PushContext,
  proxy: ProxyNode,
  routeNames: string[],
): RouteConfiguration[] {
  const merged = mergeGateways(gatewaysForProxy(push, proxy));
  return routeNames.map((name) => {
    const servers = merged.serversByRouteName.get(name);
    return servers ? gatewayRouteConfiguration(push, proxy, name, servers) : emptyRouteConfiguration(name);
  });
}
