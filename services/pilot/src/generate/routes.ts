// Sidecar outbound RDS (Istio 1.4 httproute.go buildSidecarOutboundHTTPRouteConfig).

import { virtualHostName } from '../model/names.js';
import { isHttpProtocol } from '../model/protocol.js';
import { hostMatches } from '../model/scope.js';
import type { Interner, Proxy as ProxyNode, PushContext, Service, ServicePort } from '../model/types.js';
import { domainName, sharedLabels, virtualHostDomains } from './route-hosts.js';
import type { EnvoyObject, VirtualServiceSpec } from './route-spec.js';
import {
  buildHttpRoutes,
  defaultRoute,
  emptyRouteConfiguration,
  fallthroughVirtualHost,
  type RouteConfiguration,
  type RouteContext,
  type VirtualService,
} from './route-translate.js';

export {
  buildHttpRoutes,
  defaultRoute,
  emptyRouteConfiguration,
  fallthroughVirtualHost,
  type RouteConfiguration,
  type RouteContext,
  translateRoute,
} from './route-translate.js';

/** Same order as String#localeCompare with the default locale, without its per-call cost. */
const collator = new Intl.Collator();

/** Ports that get HTTP routes: HTTP family, and Unsupported (outbound sniffing is on in 1.4). */
export function routablePort(p: ServicePort): boolean {
  return isHttpProtocol(p.protocol) || p.protocol === 'Unsupported';
}

/** Visible services that have `port`, each reduced to that one port (as Istio's per-port registry). */
export function servicesOnPort(services: readonly Service[], port: number): Map<string, Service> {
  const out = new Map<string, Service>();
  for (const s of services) {
    const view = portView(s, port);
    if (view) out.set(s.hostname, view);
  }
  return out;
}

/** `s` reduced to `port`, one object per service and port (every scope and push asks for the same ones). */
const portViews = new WeakMap<Service, Map<number, Service | null>>();

/** `host:port` of a port view, one string per view (a string built again would be hashed again). */
const viewNames = new WeakMap<Service, string>();

function hostNameOf(view: Service): string {
  let name = viewNames.get(view);
  if (name === undefined) {
    name = virtualHostName(view.hostname, view.ports[0]!.port);
    viewNames.set(view, name);
  }
  return name;
}

function portView(s: Service, port: number): Service | undefined {
  let views = portViews.get(s);
  if (!views) {
    views = new Map();
    portViews.set(s, views);
  }
  let view = views.get(port);
  if (view === undefined) {
    const p = s.ports.find((sp) => sp.port === port);
    view = p ? { ...s, ports: [p] } : null;
    views.set(port, view);
  }
  return view ?? undefined;
}

/**
 * Rank of every service's virtual host name on `port` in the collator's order, per service list: a scope's
 * hosts are then sorted by number, the collator only meeting names of hosts that are not services.
 */
const nameRanks = new WeakMap<readonly Service[], Map<number, Map<string, number>>>();

function rankOf(services: readonly Service[], port: number): Map<string, number> {
  let byPort = nameRanks.get(services);
  if (!byPort) {
    byPort = new Map();
    nameRanks.set(services, byPort);
  }
  let ranks = byPort.get(port);
  if (!ranks) {
    const names = services.map((s) => virtualHostName(s.hostname, port)).sort(collator.compare);
    ranks = new Map(names.map((n, i) => [n, i]));
    byPort.set(port, ranks);
  }
  return ranks;
}

interface Wrapper {
  services: Service[];
  vsHosts: string[];
  routes: EnvoyObject[];
}

/** The port's services indexed for VirtualService host matching (built once per route config). */
interface HostIndex {
  all: Service[];
  byHost: Map<string, Service>;
  position: Map<string, number>;
  wildcards: Service[];
}

function hostIndex(registry: Map<string, Service>): HostIndex {
  const all = [...registry.values()];
  return {
    all,
    byHost: registry,
    position: new Map(all.map((s, i) => [s.hostname, i])),
    wildcards: all.filter((s) => s.hostname.startsWith('*')),
  };
}

/** Services a VS host names or is named by (either may be a wildcard), in registry order. */
function servicesForHost(h: string, index: HostIndex): Service[] {
  if (h.includes('*'))
    return index.all.filter((s) => hostMatches(h, s.hostname) || hostMatches(s.hostname, h));
  const exact = index.byHost.get(h);
  const matched = index.wildcards.filter((s) => hostMatches(s.hostname, h));
  if (exact) matched.push(exact);
  return matched.length > 1
    ? matched.sort((a, b) => index.position.get(a.hostname)! - index.position.get(b.hostname)!)
    : matched;
}

function vsWrapper(vs: VirtualService, index: HostIndex, ctx: RouteContext): Wrapper | undefined {
  const vsHosts: string[] = [];
  const services: Service[] = [];
  for (const h of vs.spec.hosts ?? []) {
    const matched = servicesForHost(h, index);
    if (matched.length === 0) vsHosts.push(h);
    services.push(...matched.filter((s) => routablePort(s.ports[0]!)));
  }
  // Istio builds host-only virtual hosts under port 80 when no service port is HTTP.
  if (services.length === 0 && ctx.port !== 80) return undefined;
  const routes = buildHttpRoutes(vs, ctx);
  return routes.length > 0 ? { services, vsHosts, routes } : undefined;
}

/** The virtual host of a service on `port` that no VirtualService routes (read: hostname, address, port, DNS domain). */
function defaultVirtualHost(s: Service, port: number, dnsDomain: string): EnvoyObject {
  const name = hostNameOf(s);
  return {
    name,
    domains: virtualHostDomains(s, port, dnsDomain),
    routes: [defaultRoute(`outbound|${port}||${s.hostname}`, `${name}/*`)],
  };
}

/**
 * A service's virtual host interned in a group that names the other inputs (port, labels shared with the
 * proxy's DNS domain, routes): by hostname, the address (the ClusterIP domains) checked on a hit.
 */
function internHost(intern: Interner, s: Service, make: () => EnvoyObject, key = s.hostname): EnvoyObject {
  const address = s.address;
  return intern(
    key,
    () => ({ address, vh: make() }),
    (held) => held.address === address,
  ).vh;
}

/** Sidecar RouteContext for one listener port. */
export function sidecarRouteContext(
  push: PushContext,
  proxy: ProxyNode,
  port: number,
  registry: Map<string, Service>,
): RouteContext {
  const scope = push.sidecarScope(proxy);
  return {
    port,
    gateways: new Set(['mesh']),
    proxyLabels: proxy.labels,
    domain: push.domain,
    serviceFor: (h) => registry.get(h),
    destinationRule: (h) => scope.destinationRule(h),
  };
}

/** Virtual hosts for sidecar route config `"<port>"`, sorted by name, without the fallthrough host. */
export function sidecarVirtualHosts(push: PushContext, proxy: ProxyNode, port: number): EnvoyObject[] {
  const scope = push.sidecarScope(proxy);
  const registry = servicesOnPort(scope.services, port);
  const ctx = sidecarRouteContext(push, proxy, port, registry);
  const wrappers: Wrapper[] = [];
  const index = hostIndex(registry);
  for (const vs of scope.virtualServices as VirtualService[]) {
    const w = vsWrapper(vs, index, ctx);
    if (w) wrappers.push(w);
  }
  const byName = new Map<string, EnvoyObject>();
  const memo = push.memo;
  for (const w of wrappers) {
    // Routes equal in content are one interned array, and a host made of interned parts is interned too
    // (the key names the routes by identity), so routed hosts are also the same objects push after push.
    const routes = memo ? memo.intern(`routes\n${JSON.stringify(w.routes)}`, () => w.routes) : w.routes;
    const intern = memo?.group(`routed\n${port}\n${memo.idOf(routes)}`);
    for (const h of w.vsHosts) {
      const name = domainName(h, port);
      if (byName.has(name)) continue;
      const make = () => ({ name, domains: [h, name], routes });
      byName.set(name, intern ? intern(`host\n${name}`, make) : make());
    }
    for (const s of w.services) {
      const name = hostNameOf(s);
      if (byName.has(name)) continue;
      const make = () => ({ name, domains: virtualHostDomains(s, port, proxy.dnsDomain), routes });
      const key = intern && `${sharedLabels(s.hostname, proxy.dnsDomain)}\n${s.hostname}`;
      byName.set(name, intern && key ? internHost(intern, s, make, key) : make());
    }
  }
  // Services no VirtualService routes get the default route. Their virtual host is a function of the
  // key's parts only, so it is interned: every scope and push asking again gets the same object, which
  // the Envoy-rules check and the RouteConfiguration encoder then skip by identity.
  // Keyed by how many labels the host shares with the proxy's DNS domain (all its domains depend on), not
  // the domain itself: scopes of other namespaces then share one object per service.
  const groups = memo ? new Map<number, Interner>() : undefined;
  for (const s of registry.values()) {
    const name = hostNameOf(s);
    if (byName.has(name) || !routablePort(s.ports[0]!)) continue;
    const make = () => defaultVirtualHost(s, port, proxy.dnsDomain);
    if (!memo || !groups) {
      byName.set(name, make());
      continue;
    }
    const shared = sharedLabels(s.hostname, proxy.dnsDomain);
    let intern = groups.get(shared);
    if (!intern) {
      intern = memo.group(`default\n${port}\n${shared}`);
      groups.set(shared, intern);
    }
    byName.set(name, internHost(intern, s, make));
  }
  const ranks = rankOf(push.services, port);
  return [...byName.values()].sort((a, b) => {
    const ra = ranks.get(a.name as string);
    const rb = ranks.get(b.name as string);
    return ra !== undefined && rb !== undefined ? ra - rb : collator.compare(String(a.name), String(b.name));
  });
}

/** True when outbound traffic to unknown hosts is allowed for this proxy (a Sidecar overrides the mesh). */
export function allowAnyOutbound(push: PushContext, proxy: ProxyNode): boolean {
  const sidecar = push.sidecarScope(proxy).sidecar;
  const mode = sidecar?.spec.outboundTrafficPolicy?.mode ?? push.mesh.outboundTrafficPolicy.mode;
  return mode !== 'REGISTRY_ONLY';
}

/**
 * Sidecar outbound RDS: one RouteConfiguration per requested name, in request order. `"<port>"` gets
 * the port's virtual hosts plus `allow_any`/`block_all`; any other name an empty configuration.
 */
export function buildSidecarRoutes(
  push: PushContext,
  proxy: ProxyNode,
  routeNames: string[],
): RouteConfiguration[] {
  return routeNames.map((name) => {
    const port = /^\d+$/.test(name) ? Number(name) : 0;
    if (port <= 0 || port > 65535) return emptyRouteConfiguration(name);
    const vhosts = sidecarVirtualHosts(push, proxy, port);
    vhosts.push(fallthroughVirtualHost(allowAnyOutbound(push, proxy)));
    return { name, virtual_hosts: vhosts, validate_clusters: { value: false } };
  });
}

export type { VirtualServiceSpec };
