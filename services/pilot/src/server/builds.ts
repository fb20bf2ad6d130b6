// One proxy scope's xDS snapshot: the config key that decides sharing, full builds and EDS-only rebuilds.
import { TypeUrl } from '@keel/proto';
import { makeResource, Snapshot, type XdsResource } from '@keel/xds';
import { buildEndpoints } from '../generate/endpoints.js';
import { edsClusterNames, type GenerateStats, generateProxyResources } from '../generate/index.js';
import { parseSubsetKey } from '../model/names.js';
import type { Proxy as MeshProxy, ProxyResources, PushContext } from '../model/types.js';

/** The generated config of one config key, encoded once and shared by every proxy with that key. */
export interface Build {
  key: string;
  /** The push version it was built from. */
  version: string;
  resources: ProxyResources;
  /** EDS names of the clusters (what endpoints are generated for). */
  edsNames: string[];
  snapshot: Snapshot;
  /** Snapshot.consistent() problems (served anyway). */
  missing: string[];
  /** Wall time the build took, ms. */
  durationMs: number;
}

const sorted = (o: Record<string, string>) => JSON.stringify(Object.entries(o).sort());

/** Identity parts generators read only when the proxy has inbound config or is a gateway. */
function identity(proxy: MeshProxy): unknown[] {
  const instances = proxy.serviceInstances
    .map((i) => `${i.service.hostname}:${i.servicePort.port}:${i.endpoint.port}`)
    .sort();
  const l = proxy.locality;
  return [
    proxy.id,
    proxy.ips.join(','),
    instances,
    `${l.region}/${l.zone}/${l.subzone}`,
    proxy.workload?.name ?? '',
    proxy.workload?.serviceAccount ?? proxy.metadata.SERVICE_ACCOUNT ?? '',
  ];
}

/**
 * Proxies with equal keys get identical resources: scope key (namespace, Sidecar, type, generator,
 * SDS) plus everything else generators read (labels, policy-check setting, IP family, DNS domain),
 * and the proxy's own identity when inbound config, Sidecar ingress, a gateway or Mixer attributes name it.
 */
export function configKey(push: PushContext, proxy: MeshProxy): string {
  const scope = push.sidecarScope(proxy);
  const check =
    proxy.metadata['policy.istio.io/check'] ?? proxy.workload?.annotations['policy.istio.io/check'] ?? '';
  const family = proxy.ips.some((ip) => ip.includes(':')) ? 'v6' : 'v4';
  const needsIdentity =
    proxy.serviceInstances.length > 0 ||
    proxy.type === 'router' ||
    scope.sidecar?.spec.ingress !== undefined ||
    push.mesh.mixerCheckServer !== undefined ||
    push.mesh.mixerReportServer !== undefined;
  const parts: unknown[] = [
    scope.key,
    proxy.type,
    proxy.generator,
    sorted(proxy.labels),
    check,
    family,
    proxy.dnsDomain,
  ];
  if (needsIdentity) parts.push(identity(proxy), proxy.metadata.ISTIO_VERSION ?? '');
  return JSON.stringify(parts);
}

function encode(typeUrl: string, list: readonly Record<string, unknown>[], key: string): XdsResource[] {
  return list.map((body) => makeResource(typeUrl, String(body[key]), body));
}

function finish(
  key: string,
  push: PushContext,
  resources: ProxyResources,
  xds: XdsResource[],
  started: number,
): Build {
  const snapshot = new Snapshot(xds);
  return {
    key,
    version: push.version,
    resources,
    edsNames: edsClusterNames(resources.clusters),
    snapshot,
    missing: snapshot.consistent(),
    durationMs: performance.now() - started,
  };
}

/** Generates and encodes every resource for `proxy` (the representative of `key`). */
export function fullBuild(push: PushContext, proxy: MeshProxy, key: string, stats?: GenerateStats): Build {
  const started = performance.now();
  const resources = generateProxyResources(push, proxy, stats);
  const xds = [
    ...encode(TypeUrl.Cluster, resources.clusters, 'name'),
    ...encode(TypeUrl.ClusterLoadAssignment, resources.endpoints, 'cluster_name'),
    ...encode(TypeUrl.Listener, resources.listeners, 'name'),
    ...encode(TypeUrl.RouteConfiguration, resources.routes, 'name'),
  ];
  return finish(key, push, resources, xds, started);
}

/** True when an EDS name belongs to one of `hosts` (`outbound|port|subset|host`, else the name itself). */
function forHosts(name: string, hosts: ReadonlySet<string>): boolean {
  return hosts.has(parseSubsetKey(name)?.host ?? name);
}

/**
 * EDS-only rebuild: CDS, LDS and RDS resources (and endpoints of other hosts) are reused as they are;
 * only the ClusterLoadAssignments of `hosts` are regenerated.
 */
export function endpointsBuild(
  prev: Build,
  push: PushContext,
  proxy: MeshProxy,
  hosts: ReadonlySet<string>,
): Build {
  const started = performance.now();
  const names = prev.edsNames.filter((n) => forHosts(n, hosts));
  const fresh = buildEndpoints(push, proxy, names);
  const freshByName = new Map(fresh.map((e) => [String(e.cluster_name), e]));
  const endpoints = prev.resources.endpoints.map((e) => freshByName.get(String(e.cluster_name)) ?? e);
  const reused = prev.snapshot.resources(TypeUrl.ClusterLoadAssignment);
  const xdsEndpoints = endpoints.map((e) => {
    const name = String(e.cluster_name);
    return freshByName.has(name) ? makeResource(TypeUrl.ClusterLoadAssignment, name, e) : reused.get(name)!;
  });
  const keep = [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.RouteConfiguration].flatMap((t) => [
    ...prev.snapshot.resources(t).values(),
  ]);
  return finish(prev.key, push, { ...prev.resources, endpoints }, [...keep, ...xdsEndpoints], started);
}
