// One proxy's full xDS output (CDS, EDS, LDS, RDS) and its consistency check. Pure.
import { encodeMessage, findUnknownFields, TypeName } from '@keel/proto';
import { edsServiceName, referencedRouteNames as routeNamesOf } from '@keel/xds';
import type { Degradation } from '../model/client.js';
import type { Proxy as MeshProxy, ProxyResources, PushContext } from '../model/types.js';
import { buildClusters, inboundClusters } from './clusters.js';
import { buildEndpoints } from './endpoints.js';
import { type EnvoyRuleRejection, enforceEnvoyRules, envoyRuleViolations } from './envoy-rules.js';
import {
  applyEnvoyFilters,
  type EnvoyFilterStats,
  envoyFiltersFor,
  newEnvoyFilterStats,
} from './envoyfilter.js';
import { buildGatewayListeners, buildGatewayRoutes } from './gateway.js';
import { buildGrpcListeners, buildGrpcRoutes } from './grpc.js';
import { buildGrpcServerListeners } from './grpc-server.js';
import { buildSidecarListeners, sidecarIngressClusters, virtualInboundListener } from './listeners.js';
import { byName, type ListenerStats, newListenerStats } from './listeners-common.js';
import { buildInboundListeners } from './listeners-inbound.js';
import { outboundListenerVirtualServices } from './listeners-outbound.js';
import type { EnvoyObject } from './route-spec.js';
import { buildSidecarRoutes } from './routes.js';

export const TYPES = {
  cluster: TypeName.Cluster,
  endpoint: TypeName.ClusterLoadAssignment,
  listener: TypeName.Listener,
  route: TypeName.RouteConfiguration,
} as const;

/** Caller-owned counters for one generation. */
export interface GenerateStats {
  listeners: ListenerStats;
  envoyFilters: EnvoyFilterStats;
  /** Parts repaired or left out because Envoy would reject them (see envoy-rules.ts). */
  rejected?: EnvoyRuleRejection[];
  /** What a proxyless client gets in a weaker form than the config asked (model/client.ts). */
  degraded?: Degradation[];
}

const newGenerateStats = (): GenerateStats => ({
  listeners: newListenerStats(),
  envoyFilters: newEnvoyFilterStats(),
});

/** RDS names referenced by listeners (libs/xds's reading of filter chains and API listeners), deduplicated, in order. */
export function referencedRouteNames(listeners: readonly EnvoyObject[]): string[] {
  return [...new Set(listeners.flatMap((l) => routeNamesOf(l)))];
}

/** EDS service names of the EDS clusters, in cluster order. */
export function edsClusterNames(clusters: readonly EnvoyObject[]): string[] {
  return clusters.flatMap((c) => edsServiceName(c) ?? []);
}

function withIngressClusters(push: PushContext, proxy: MeshProxy, clusters: EnvoyObject[]): EnvoyObject[] {
  const have = new Set(clusters.map((c) => String(c.name)));
  const extra = sidecarIngressClusters(push, proxy).filter((c) => !have.has(String(c.name)));
  if (extra.length === 0) return clusters;
  return [...clusters, ...extra].sort((a, b) => (String(a.name) < String(b.name) ? -1 : 1));
}

function listenersAndRoutes(
  push: PushContext,
  proxy: MeshProxy,
  stats: ListenerStats,
  degraded?: Degradation[],
): { listeners: EnvoyObject[]; routes: EnvoyObject[] } {
  if (proxy.generator === 'grpc') {
    const listeners = buildGrpcListeners(push, proxy);
    const routes = buildGrpcRoutes(push, proxy, referencedRouteNames(listeners), degraded);
    return { listeners: [...listeners, ...buildGrpcServerListeners(push, proxy)], routes };
  }
  if (proxy.type === 'router') {
    const listeners = buildGatewayListeners(push, proxy);
    return { listeners, routes: buildGatewayRoutes(push, proxy, referencedRouteNames(listeners)) };
  }
  const listeners = buildSidecarListeners(push, proxy, stats);
  return { listeners, routes: buildSidecarRoutes(push, proxy, referencedRouteNames(listeners)) };
}

/**
 * Clusters, endpoints for every EDS cluster, listeners and every referenced route, then EnvoyFilter
 * patches (for proxyless gRPC clients too: a user's patch is deliberate, and the client NACKs what it cannot use).
 */
export function generateProxyResources(
  push: PushContext,
  proxy: MeshProxy,
  stats?: GenerateStats,
): ProxyResources {
  const listenerStats = stats?.listeners ?? newListenerStats();
  let clusters = buildClusters(push, proxy, stats?.degraded) as EnvoyObject[];
  if (proxy.type === 'sidecar' && proxy.generator === 'envoy')
    clusters = withIngressClusters(push, proxy, clusters);
  const { listeners, routes } = listenersAndRoutes(push, proxy, listenerStats, stats?.degraded);
  const generated: ProxyResources = {
    clusters,
    endpoints: buildEndpoints(push, proxy, edsClusterNames(clusters)),
    listeners,
    routes,
  };
  const filters = envoyFiltersFor(push, proxy);
  const patched =
    filters.length > 0 ? applyEnvoyFilters(push, proxy, generated, stats?.envoyFilters) : generated;
  return enforceEnvoyRules(
    generated,
    patched,
    filters.map((f) => `EnvoyFilter ${f.namespace}/${f.name}`),
    stats?.rejected,
  );
}

/**
 * True when the proxy's output splits into a part shared by its scope (outbound clusters, endpoints,
 * outbound listeners, routes) and its own inbound part: an Envoy sidecar without Sidecar ingress,
 * Mixer or EnvoyFilters selecting it. Then `assembleSidecarResources` equals `generateProxyResources`.
 */
export function splitsByScope(push: PushContext, proxy: MeshProxy): boolean {
  return (
    proxy.type === 'sidecar' &&
    proxy.generator === 'envoy' &&
    push.mesh.mixerCheckServer === undefined &&
    push.mesh.mixerReportServer === undefined &&
    push.sidecarScope(proxy).sidecar?.spec.ingress === undefined &&
    envoyFiltersFor(push, proxy).length === 0
  );
}

/**
 * A scope's shared part, with what its outbound listeners were made from beyond what a routes-only change
 * leaves alone (`outboundListenerVirtualServices`) and what the Envoy-rules check reported of them.
 */
export interface ScopeResources extends ProxyResources {
  listenerReads: readonly object[];
  listenerRejections: EnvoyRuleRejection[];
}

/** The same objects in the same order. */
export const sameItems = <T>(a: readonly T[], b: readonly T[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The scope-shared part: the proxy's resources as if it had no service instances. With `kept` (an earlier
 * build of the scope whose clusters and endpoints no change since has read), only listeners and routes are
 * generated, and the listeners only when a VirtualService they read changed: otherwise `kept`'s are reused
 * as they are (with the rejections their check reported), and routes are made for the same names. Scope
 * proxies have no EnvoyFilters (`splitsByScope`), so nothing would patch them.
 */
export function generateScopeResources(
  push: PushContext,
  proxy: MeshProxy,
  stats?: GenerateStats,
  kept?: ScopeResources,
): ScopeResources {
  const scopeProxy = { ...proxy, serviceInstances: [] };
  const listenerReads = outboundListenerVirtualServices(push, scopeProxy);
  const rejected = stats?.rejected ?? [];
  const from = rejected.length;
  const listenerRejections = () => rejected.slice(from).filter((r) => r.type === 'listener');
  if (!kept) {
    const all = generateProxyResources(push, scopeProxy, { ...(stats ?? newGenerateStats()), rejected });
    return { ...all, listenerReads, listenerRejections: listenerRejections() };
  }
  if (sameItems(listenerReads, kept.listenerReads)) {
    rejected.push(...kept.listenerRejections);
    const routes = buildSidecarRoutes(
      push,
      scopeProxy,
      kept.routes.map((r) => String(r.name)),
    );
    const fresh = { clusters: [], endpoints: [], listeners: [], routes };
    const checked = enforceEnvoyRules(fresh, fresh, [], rejected);
    return { ...kept, routes: checked.routes, listenerReads };
  }
  const lr = listenersAndRoutes(push, scopeProxy, stats?.listeners ?? newListenerStats());
  // The outbound clusters were checked when first built; listeners and routes are new.
  const fresh = { clusters: [], endpoints: [], ...lr };
  const { listeners, routes } = enforceEnvoyRules(fresh, fresh, [], rejected);
  return {
    clusters: kept.clusters,
    endpoints: kept.endpoints,
    listeners,
    routes,
    listenerReads,
    listenerRejections: listenerRejections(),
  };
}

/** The proxy-specific part of a splitting sidecar: inbound clusters, inbound listeners, virtualInbound. */
export interface InboundResources {
  clusters: EnvoyObject[];
  /** Inbound listeners by name. */
  listeners: EnvoyObject[];
  /** Built by `assembleSidecarResources` (it needs the kept inbound listeners). */
  proxy: MeshProxy;
  push: PushContext;
}

export function generateInboundResources(
  push: PushContext,
  proxy: MeshProxy,
  stats?: ListenerStats,
  rejected?: EnvoyRuleRejection[],
): InboundResources {
  const own = {
    clusters: inboundClusters(push, proxy),
    listeners: buildInboundListeners(push, proxy, stats).sort(byName),
    endpoints: [],
    routes: [],
  };
  const checked = enforceEnvoyRules(own, own, [], rejected);
  return { clusters: checked.clusters, listeners: checked.listeners, proxy, push };
}

const byClusterName = (a: EnvoyObject, b: EnvoyObject) =>
  String(a.name) < String(b.name) ? -1 : String(a.name) > String(b.name) ? 1 : 0;

/** `[...a, ...b].sort(byClusterName)` for a sorted `a` (the scope's clusters) and a short `b`. */
function mergeByName(a: readonly EnvoyObject[], b: readonly EnvoyObject[]): EnvoyObject[] {
  const extra = [...b].sort(byClusterName);
  const out: EnvoyObject[] = [];
  let j = 0;
  for (const x of a) {
    while (j < extra.length && byClusterName(extra[j]!, x) < 0) out.push(extra[j++]!);
    out.push(x);
  }
  while (j < extra.length) out.push(extra[j++]!);
  return out;
}

/**
 * `generateProxyResources` of a splitting sidecar from its scope's shared part and its own inbound
 * part; the shared objects are reused as they are. Returns also the proxy-specific objects.
 */
export function assembleSidecarResources(
  shared: ProxyResources,
  inbound: InboundResources,
): { resources: ProxyResources; own: { clusters: EnvoyObject[]; listeners: EnvoyObject[] } } {
  const outbound = shared.listeners.slice(2) as EnvoyObject[];
  const names = new Set(outbound.map((l) => String(l.name)));
  const kept = inbound.listeners.filter((l) => {
    if (names.has(String(l.name))) return false;
    names.add(String(l.name));
    return true;
  });
  const inboundKept = kept.filter((l) => l.traffic_direction === 'INBOUND');
  const vin = virtualInboundListener(inbound.push, inbound.proxy, inboundKept);
  const clusters = mergeByName(shared.clusters as EnvoyObject[], inbound.clusters);
  return {
    resources: {
      clusters,
      endpoints: shared.endpoints,
      listeners: [shared.listeners[0]!, vin, ...outbound, ...kept],
      routes: shared.routes,
    },
    own: { clusters: inbound.clusters, listeners: [vin, ...kept] },
  };
}

/**
 * Every problem with a resource set: Envoy-rules violations (PGV, C++ checks, deprecated fields for
 * Envoy proxies), unknown fields, missing RDS names and missing EDS assignments.
 */
export function checkResources(res: ProxyResources, generator: 'envoy' | 'grpc' = 'envoy'): string[] {
  const errors: string[] = envoyRuleViolations(res, generator === 'envoy');
  const check = (type: string, list: readonly Record<string, unknown>[], key: string) => {
    for (const r of list) {
      const where = `${type}(${String(r[key])})`;
      const unknown = findUnknownFields(type, r, where);
      errors.push(...unknown);
      if (unknown.length > 0) continue;
      try {
        encodeMessage(type, r);
      } catch (e) {
        errors.push(`${where}: does not encode: ${(e as Error).message}`);
      }
    }
  };
  check(TYPES.cluster, res.clusters, 'name');
  check(TYPES.endpoint, res.endpoints, 'cluster_name');
  check(TYPES.listener, res.listeners, 'name');
  check(TYPES.route, res.routes, 'name');
  const routeNames = new Set(res.routes.map((r) => String(r.name)));
  for (const name of referencedRouteNames(res.listeners)) {
    if (!routeNames.has(name))
      errors.push(`listener references route configuration "${name}" that is not generated`);
  }
  const assigned = new Set(res.endpoints.map((e) => String(e.cluster_name)));
  for (const name of edsClusterNames(res.clusters)) {
    if (!assigned.has(name)) errors.push(`EDS cluster "${name}" has no ClusterLoadAssignment`);
  }
  return errors;
}

export { type EnvoyRuleRejection, enforceEnvoyRules } from './envoy-rules.js';
export { applyEnvoyFilters, type EnvoyFilterStats, newEnvoyFilterStats } from './envoyfilter.js';
export { buildSidecarListeners, type ListenerStats, newListenerStats } from './listeners.js';
