// Sidecar outbound RDS (Istio 1.4 httproute.go buildSidecarOutboundHTTPRouteConfig).

import { virtualHostName } from '../model/names.js';
import { isHttpProtocol } from '../model/protocol.js';
import { hostMatches } from '../model/scope.js';
import type {
  ConfigEntry,
  Interner,
  Proxy as ProxyNode,
  PushContext,
  PushMemo,
  Service,
  ServicePort,
} from '../model/types.js';
import { derivedHosts } from './envoy-rules.js';
import { domainName, sharedLabels, virtualHostDomains } from './route-hosts.js';
import { sourceLabelsKey } from './route-match.js';
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

const registries = new WeakMap<readonly Service[], Map<number, Map<string, Service>>>();

/**
 * Visible services that have `port`, each reduced to that one port (as Istio's per-port registry); one map
 * per service list and port (scopes seeing every service pass the push's list and share it).
 */
export function servicesOnPort(services: readonly Service[], port: number): Map<string, Service> {
  return perPort(registries, services, port, () => {
    const out = new Map<string, Service>();
    for (const s of services) {
      const view = portView(s, port);
      if (view) out.set(s.hostname, view);
    }
    return out;
  });
}

/** `make()` memoized per object (held weakly) and port. */
function perPort<K extends object, V>(
  cache: WeakMap<K, Map<number, V>>,
  key: K,
  port: number,
  make: () => V,
): V {
  let byPort = cache.get(key);
  if (!byPort) {
    byPort = new Map();
    cache.set(key, byPort);
  }
  if (byPort.has(port)) return byPort.get(port) as V;
  const made = make();
  byPort.set(port, made);
  return made;
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
  const view = perPort(portViews, s, port, () => {
    const p = s.ports.find((sp) => sp.port === port);
    return p ? { ...s, ports: [p] } : null;
  });
  return view ?? undefined;
}

/**
 * Rank of every service's virtual host name on `port` in the collator's order, per service list: a scope's
 * hosts are then sorted by number, the collator only meeting names of hosts that are not services.
 */
const nameRanks = new WeakMap<readonly Service[], Map<number, Map<string, number>>>();

function rankOf(services: readonly Service[], port: number): Map<string, number> {
  return perPort(nameRanks, services, port, () => {
    const names = services.map((s) => virtualHostName(s.hostname, port)).sort(collator.compare);
    return new Map(names.map((n, i) => [n, i]));
  });
}

/** What one VirtualService adds to a route table: its routes and the virtual hosts they go to. */
interface Wrapper {
  routes: EnvoyObject[];
  /** Virtual host name -> the VS host it is for (a host no service has) or the service; in VS order. */
  hosts: Map<string, string | Service>;
}

/** The port's services indexed for VirtualService host matching (one per registry, see `indexOf`). */
interface HostIndex {
  all: Service[];
  byHost: Map<string, Service>;
  position: Map<string, number>;
  wildcards: Service[];
}

const indexes = new WeakMap<Map<string, Service>, HostIndex>();

function indexOf(registry: Map<string, Service>): HostIndex {
  let index = indexes.get(registry);
  if (!index) {
    const all = [...registry.values()];
    index = {
      all,
      byHost: registry,
      position: new Map(all.map((s, i) => [s.hostname, i])),
      wildcards: all.filter((s) => s.hostname.startsWith('*')),
    };
    indexes.set(registry, index);
  }
  return index;
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

function vsWrapper(
  vs: VirtualService,
  registry: Map<string, Service>,
  ctx: RouteContext,
  memo: PushMemo | undefined,
): Wrapper | undefined {
  const vsHosts: string[] = [];
  const services: Service[] = [];
  for (const h of vs.spec.hosts ?? []) {
    const matched = servicesForHost(h, indexOf(registry));
    if (matched.length === 0) vsHosts.push(h);
    services.push(...matched.filter((s) => routablePort(s.ports[0]!)));
  }
  // Istio builds host-only virtual hosts under port 80 when no service port is HTTP.
  if (services.length === 0 && ctx.port !== 80) return undefined;
  const built = buildHttpRoutes(vs, ctx);
  if (built.length === 0) return undefined;
  // Routes equal in content are one interned array, and a host made of interned parts is interned too
  // (the key names the routes by identity), so routed hosts are also the same objects push after push.
  const routes = memo ? memo.intern(`routes\n${JSON.stringify(built)}`, () => built) : built;
  const hosts = new Map<string, string | Service>();
  for (const h of vsHosts) {
    const name = domainName(h, ctx.port);
    if (!hosts.has(name)) hosts.set(name, h);
  }
  for (const s of services) {
    const name = hostNameOf(s);
    if (!hosts.has(name)) hosts.set(name, s);
  }
  return { routes, hosts };
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

/** Makes the virtual hosts of one route table, interned in the push memo when there is one. */
class HostMaker {
  /** Default hosts' interners by labels shared with the proxy's DNS domain. */
  private readonly defaults = new Map<number, Interner>();

  constructor(
    readonly memo: PushMemo | undefined,
    private readonly port: number,
    private readonly dnsDomain: string,
  ) {}

  /** The host `name` of wrapper `w` (`intern`: the wrapper's group, when made for many names). */
  routed(w: Wrapper, name: string, intern = this.routedGroup(w)): EnvoyObject {
    const src = w.hosts.get(name)!;
    const { routes } = w;
    if (typeof src === 'string') {
      const make = () => ({ name, domains: [src, name], routes });
      return intern ? intern(`host\n${name}`, make) : make();
    }
    const make = () => ({ name, domains: virtualHostDomains(src, this.port, this.dnsDomain), routes });
    const key = intern && `${sharedLabels(src.hostname, this.dnsDomain)}\n${src.hostname}`;
    return intern && key ? internHost(intern, src, make, key) : make();
  }

  routedGroup(w: Wrapper): Interner | undefined {
    return this.memo?.group(`routed\n${this.port}\n${this.memo.idOf(w.routes)}`);
  }

  /**
   * A service no VirtualService routes gets the default route. Its virtual host is a function of the key's
   * parts only, so it is interned: every scope and push asking again gets the same object, which the
   * Envoy-rules check and the RouteConfiguration encoder then skip by identity. Keyed by how many labels
   * the host shares with the proxy's DNS domain (all its domains depend on), not the domain itself: scopes
   * of other namespaces then share one object per service.
   */
  fallback(s: Service): EnvoyObject {
    const make = () => defaultVirtualHost(s, this.port, this.dnsDomain);
    if (!this.memo) return make();
    const shared = sharedLabels(s.hostname, this.dnsDomain);
    let intern = this.defaults.get(shared);
    if (!intern) {
      intern = this.memo.group(`default\n${this.port}\n${shared}`);
      this.defaults.set(shared, intern);
    }
    return internHost(intern, s, make);
  }
}

/**
 * One route table as last built for a scope and port, with what it was built from: the next push whose
 * registry and DestinationRules are the same objects starts from it and redoes only the hosts of the
 * VirtualServices that changed (the config store keeps an unchanged entry's object, see config-store.ts).
 */
interface RouteTable {
  services: readonly Service[];
  destinationRules: readonly ConfigEntry[];
  virtualServices: readonly ConfigEntry[];
  wrappers: Map<ConfigEntry, Wrapper | undefined>;
  /** Sorted by name, without the fallthrough host. Never mutated. */
  hosts: readonly EnvoyObject[];
}

/** Above this share of changed VirtualServices a table is built from nothing (as cheap, and simpler). */
const INCREMENTAL_SHARE = 1 / 8;

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

const sameItems = <T>(a: readonly T[], b: readonly T[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** The VirtualServices of `next` not in `prev` and of `prev` not in `next`; undefined when the ones in both changed order. */
function vsDelta(
  prev: readonly ConfigEntry[],
  next: readonly ConfigEntry[],
): { added: ConfigEntry[]; removed: ConfigEntry[] } | undefined {
  const inNext = new Set(next);
  const inPrev = new Set(prev);
  const removed = prev.filter((v) => !inNext.has(v));
  const added = next.filter((v) => !inPrev.has(v));
  const keptPrev = prev.filter((v) => inNext.has(v));
  const keptNext = next.filter((v) => inPrev.has(v));
  return sameItems(keptPrev, keptNext) ? { added, removed } : undefined;
}

/**
 * Virtual hosts for sidecar route config `"<port>"`, sorted by name, without the fallthrough host. The
 * returned array is shared (held for the next push): callers must not mutate it.
 */
export function sidecarVirtualHosts(
  push: PushContext,
  proxy: ProxyNode,
  port: number,
): readonly EnvoyObject[] {
  const scope = push.sidecarScope(proxy);
  // A scope that sees every service (no Sidecar egress, nothing hidden by exportTo) shares the registry's.
  const visible = scope.services.length === push.services.length ? push.services : scope.services;
  const registry = servicesOnPort(visible, port);
  const ctx = sidecarRouteContext(push, proxy, port, registry);
  const memo = push.memo;
  const holder = memo?.group('route-table')(
    // The proxy's labels only as far as routes read them (sourceLabels): every proxy of a scope finds the
    // table whichever of them builds the scope (a prewarmed scope's pod, then the first connected proxy).
    JSON.stringify([scope.key, port, proxy.dnsDomain, push.domain, sourceLabelsKey(push, proxy.labels)]),
    () => ({}) as { table?: RouteTable },
  );
  const destinationRules = push.configs('DestinationRule');
  const virtualServices = scope.virtualServices;
  const prev = holder?.table;
  const maker = new HostMaker(memo, port, proxy.dnsDomain);
  const ranks = rankOf(push.services, port);
  let table: RouteTable | undefined;
  if (prev && prev.services === push.services && sameItems(prev.destinationRules, destinationRules)) {
    if (sameItems(prev.virtualServices, virtualServices)) return prev.hosts;
    table = patchedTable(prev, virtualServices, registry, ctx, maker, ranks);
  }
  table ??= fullTable(push.services, destinationRules, virtualServices, registry, ctx, maker, ranks);
  if (holder) holder.table = table;
  return table.hosts;
}

type Ranks = Map<string, number>;

function compareNames(ranks: Ranks, a: string, b: string): number {
  const ra = ranks.get(a);
  const rb = ranks.get(b);
  return ra !== undefined && rb !== undefined ? ra - rb : collator.compare(a, b);
}

function fullTable(
  services: readonly Service[],
  destinationRules: readonly ConfigEntry[],
  virtualServices: readonly ConfigEntry[],
  registry: Map<string, Service>,
  ctx: RouteContext,
  maker: HostMaker,
  ranks: Ranks,
): RouteTable {
  const wrappers = new Map<ConfigEntry, Wrapper | undefined>();
  const byName = new Map<string, EnvoyObject>();
  for (const vs of virtualServices as VirtualService[]) {
    const w = vsWrapper(vs, registry, ctx, maker.memo);
    wrappers.set(vs, w);
    if (!w) continue;
    const intern = maker.routedGroup(w);
    for (const name of w.hosts.keys()) if (!byName.has(name)) byName.set(name, maker.routed(w, name, intern));
  }
  for (const s of registry.values()) {
    const name = hostNameOf(s);
    if (!byName.has(name) && routablePort(s.ports[0]!)) byName.set(name, maker.fallback(s));
  }
  const hosts = [...byName.values()].sort((a, b) => compareNames(ranks, String(a.name), String(b.name)));
  return { services, destinationRules, virtualServices, wrappers, hosts };
}

/**
 * `prev` with the VirtualServices now in force: the hosts the changed ones name (before or after) are made
 * again, the first VirtualService naming a host still winning it; every other host is `prev`'s object.
 * Undefined when too much changed or the unchanged ones moved (then the table is built from nothing).
 */
function patchedTable(
  prev: RouteTable,
  virtualServices: readonly ConfigEntry[],
  registry: Map<string, Service>,
  ctx: RouteContext,
  maker: HostMaker,
  ranks: Ranks,
): RouteTable | undefined {
  const delta = vsDelta(prev.virtualServices, virtualServices);
  if (!delta) return undefined;
  const { added, removed } = delta;
  if (added.length + removed.length > Math.max(4, virtualServices.length * INCREMENTAL_SHARE))
    return undefined;
  const wrappers = new Map(prev.wrappers);
  // Names to make again, with the service each stands for (undefined: a VS host no service has).
  const touched = new Map<string, Service | undefined>();
  const touch = (w: Wrapper | undefined) => {
    for (const [name, src] of w?.hosts ?? []) touched.set(name, typeof src === 'string' ? undefined : src);
  };
  for (const vs of removed) {
    touch(wrappers.get(vs));
    wrappers.delete(vs);
  }
  for (const vs of added) {
    const w = vsWrapper(vs as VirtualService, registry, ctx, maker.memo);
    wrappers.set(vs, w);
    touch(w);
  }
  const order = virtualServices.map((vs) => wrappers.get(vs));
  const hosts = [...prev.hosts];
  for (const [name, service] of touched) {
    const winner = order.find((w) => w?.hosts.has(name));
    const host = winner ? maker.routed(winner, name) : service ? maker.fallback(service) : undefined;
    // Binary search for the name's place in the sorted hosts.
    let lo = 0;
    let hi = hosts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareNames(ranks, String(hosts[mid]!.name), name) < 0) lo = mid + 1;
      else hi = mid;
    }
    const present = lo < hosts.length && hosts[lo]!.name === name;
    if (host && present) hosts[lo] = host;
    else if (host) hosts.splice(lo, 0, host);
    else if (present) hosts.splice(lo, 1);
  }
  // One link back only: `prev.hosts`' own link is dropped, else every table ever patched would stay reachable.
  patchedFrom.delete(prev.hosts);
  patchedFrom.set(hosts, prev.hosts);
  return { ...prev, virtualServices, wrappers, hosts };
}

/** A patched table's hosts -> the hosts of the table it was patched from (see `patchedTable`). */
const patchedFrom = new WeakMap<readonly EnvoyObject[], readonly EnvoyObject[]>();

/** Route configurations by table hosts, then by name and fallthrough: an unchanged table is the same object. */
const configurations = new WeakMap<readonly EnvoyObject[], Map<string, RouteConfiguration>>();

/**
 * The RouteConfiguration of a sidecar table: its hosts plus the fallthrough host. One object per table, name
 * and fallthrough, so a push that kept the table keeps the object (and its check and encoding); one made
 * from a patched table tells the Envoy-rules check which table it derives from.
 */
function sidecarRouteConfiguration(
  name: string,
  hosts: readonly EnvoyObject[],
  allowAny: boolean,
): RouteConfiguration {
  let byName = configurations.get(hosts);
  if (!byName) {
    byName = new Map();
    configurations.set(hosts, byName);
  }
  const key = `${allowAny}\n${name}`;
  let rc = byName.get(key);
  if (!rc) {
    const vhosts = [...hosts, fallthroughVirtualHost(allowAny)];
    const base = patchedFrom.get(hosts);
    const baseHosts =
      base && (configurations.get(base)?.get(key)?.virtual_hosts as EnvoyObject[] | undefined);
    if (baseHosts) derivedHosts.set(vhosts, baseHosts);
    rc = { name, virtual_hosts: vhosts, validate_clusters: { value: false } };
    byName.set(key, rc);
  }
  return rc;
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
    return sidecarRouteConfiguration(
      name,
      sidecarVirtualHosts(push, proxy, port),
      allowAnyOutbound(push, proxy),
    );
  });
}

export type { VirtualServiceSpec };
