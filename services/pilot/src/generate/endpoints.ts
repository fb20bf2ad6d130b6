// EDS: ClusterLoadAssignments for `outbound|port|subset|host` clusters, grouped by locality.
import { jsonToStruct } from '@keel/proto';
import { parseSubsetKey } from '../model/names.js';
import type { Endpoint, Proxy as MeshProxy, PushContext } from '../model/types.js';
import { applyLocalityLb } from './locality-lb.js';

/** envoy.config.endpoint.v3.ClusterLoadAssignment in protobufjs object form. */
export type ClusterLoadAssignment = Record<string, unknown>;

function localityKey(ep: Endpoint): string {
  return `${ep.locality.region}/${ep.locality.zone}/${ep.locality.subzone}`;
}

function lbEndpoint(ep: Endpoint): Record<string, unknown> {
  const istio: Record<string, string> = {};
  if (ep.uid) istio.uid = ep.uid;
  if (ep.network) istio.network = ep.network;
  const filterMetadata: Record<string, unknown> = {};
  if (Object.keys(istio).length > 0) filterMetadata.istio = jsonToStruct(istio);
  if (ep.tlsMode === 'istio')
    filterMetadata['envoy.transport_socket_match'] = jsonToStruct({ tlsMode: 'istio' });
  return {
    endpoint: { address: { socket_address: { address: ep.address, port_value: ep.port } } },
    load_balancing_weight: { value: ep.weight },
    ...(Object.keys(filterMetadata).length > 0 ? { metadata: { filter_metadata: filterMetadata } } : {}),
  };
}

/**
 * Endpoints -> LocalityLbEndpoints, sorted by locality then address:port. Every group carries a
 * `locality` (possibly empty) and a positive `load_balancing_weight` (grpc-js-xds drops it otherwise).
 */
export function localityLbEndpoints(endpoints: readonly Endpoint[]): Record<string, unknown>[] {
  const groups = new Map<string, Endpoint[]>();
  for (const ep of endpoints) {
    const k = localityKey(ep);
    groups.set(k, [...(groups.get(k) ?? []), ep]);
  }
  return [...groups.keys()].sort().map((k) => {
    const eps = [...groups.get(k)!].sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
    const { region, zone, subzone } = eps[0]!.locality;
    const locality: Record<string, string> = {};
    if (region) locality.region = region;
    if (zone) locality.zone = zone;
    if (subzone) locality.sub_zone = subzone;
    const weight = eps.reduce((sum, ep) => sum + Math.max(1, ep.weight), 0);
    return { locality, lb_endpoints: eps.map(lbEndpoint), load_balancing_weight: { value: weight } };
  });
}

/** True when every subset label is on the endpoint (no labels: every endpoint). */
export function labelsMatch(
  subset: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  return Object.entries(subset ?? {}).every(([k, v]) => labels[k] === v);
}

/** Labels of subset `subset` in the DestinationRule this proxy sees for `host`; undefined when none. */
export function subsetLabels(
  push: PushContext,
  proxy: MeshProxy,
  host: string,
  subset: string,
): Record<string, string> | undefined {
  if (!subset) return undefined;
  const dr = push.sidecarScope(proxy).destinationRule(host);
  const found = ((dr?.spec.subsets ?? []) as Array<{ name: string; labels?: Record<string, string> }>).find(
    (s) => s.name === subset,
  );
  return found?.labels;
}

/** The endpoints of `host` serving service port `port`, narrowed to the subset's labels. */
export function endpointsFor(
  push: PushContext,
  proxy: MeshProxy,
  host: string,
  port: number,
  subset: string,
): Endpoint[] {
  const labels = subsetLabels(push, proxy, host, subset);
  return (push.endpointsByHost.get(host) ?? []).filter(
    (ep) => ep.servicePort === port && labelsMatch(labels, ep.labels),
  );
}

/** The ClusterLoadAssignment for one cluster name; empty endpoints for unknown or non-outbound names. */
export function endpointsForCluster(
  push: PushContext,
  proxy: MeshProxy,
  clusterName: string,
): ClusterLoadAssignment {
  const key = parseSubsetKey(clusterName);
  if (key?.direction !== 'outbound' || !push.serviceByHost.has(key.host)) {
    return { cluster_name: clusterName, endpoints: [] };
  }
  const eps = endpointsFor(push, proxy, key.host, key.port, key.subset);
  const groups = localityLbEndpoints(eps);
  return {
    cluster_name: clusterName,
    endpoints: applyLocalityLb(push, proxy, key.host, key.port, key.subset, groups),
  };
}

/** One ClusterLoadAssignment per requested cluster name, in the order asked. */
export function buildEndpoints(
  push: PushContext,
  proxy: MeshProxy,
  clusterNames: readonly string[],
): ClusterLoadAssignment[] {
  return clusterNames.map((name) => endpointsForCluster(push, proxy, name));
}
