import { decodeMessage, TypeUrl, typeNameOf, XDS_ORDER } from '@keel/proto';
import { versionOf, type XdsResource } from './resource.js';

const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const EMPTY: ReadonlyMap<string, XdsResource> = new Map();

export interface SnapshotOptions {
  /** Types this snapshot serves even when it holds none of them (an empty list is an answer). Default XDS_ORDER. */
  types?: readonly string[];
}

/**
 * An immutable set of resources for one proxy scope, grouped by type URL.
 * A type the snapshot does not serve has version ''; watches on it stay parked.
 */
export class Snapshot {
  private readonly byType = new Map<string, ReadonlyMap<string, XdsResource>>();
  private readonly versions = new Map<string, string>();

  /** Later resources with the same type and name replace earlier ones. */
  constructor(resources: Iterable<XdsResource>, options: SnapshotOptions = {}) {
    const groups = new Map<string, Map<string, XdsResource>>();
    for (const t of options.types ?? XDS_ORDER) groups.set(t, new Map());
    for (const r of resources) {
      let group = groups.get(r.typeUrl);
      if (!group) {
        group = new Map();
        groups.set(r.typeUrl, group);
      }
      group.set(r.name, r);
    }
    for (const [typeUrl, group] of groups) {
      this.byType.set(typeUrl, group);
      this.versions.set(typeUrl, versionOf(group.values()));
    }
  }

  /** Content version of every resource of this type; '' when the snapshot does not serve the type. */
  version(typeUrl: string): string {
    return this.versions.get(typeUrl) ?? '';
  }

  resources(typeUrl: string): ReadonlyMap<string, XdsResource> {
    return this.byType.get(typeUrl) ?? EMPTY;
  }

  /** Type URLs this snapshot serves. */
  types(): string[] {
    return [...this.byType.keys()];
  }

  /** Names referenced but absent: RDS names from listeners' HCMs, EDS names from EDS clusters. Empty when consistent. */
  consistent(): string[] {
    const missing: string[] = [];
    const routes = this.resources(TypeUrl.RouteConfiguration);
    for (const listener of this.resources(TypeUrl.Listener).values()) {
      for (const name of referencedRouteNames(listener.body)) {
        if (!routes.has(name)) missing.push(`${TypeUrl.RouteConfiguration}/${name}`);
      }
    }
    const endpoints = this.resources(TypeUrl.ClusterLoadAssignment);
    for (const cluster of this.resources(TypeUrl.Cluster).values()) {
      const name = edsServiceName(cluster.body);
      if (name !== undefined && !endpoints.has(name))
        missing.push(`${TypeUrl.ClusterLoadAssignment}/${name}`);
    }
    return [...new Set(missing)];
  }
}

type Obj = Record<string, any>;

/** RDS names a Listener body uses: HCMs in filter chains (default included) and in api_listener. */
export function referencedRouteNames(listener: Obj): string[] {
  const names: string[] = [];
  const chains: Obj[] = [...(listener.filter_chains ?? [])];
  if (listener.default_filter_chain) chains.push(listener.default_filter_chain);
  const configs: unknown[] = chains.flatMap((c) => (c.filters ?? []).map((f: Obj) => f.typed_config));
  configs.push(listener.api_listener?.api_listener);
  for (const config of configs) {
    const hcm = asHcm(config);
    const name = hcm?.rds?.route_config_name;
    if (typeof name === 'string' && name !== '') names.push(name);
  }
  return names;
}

/** The EDS service name of an EDS cluster (service_name, else the cluster name); undefined for other clusters. */
export function edsServiceName(cluster: Obj): string | undefined {
  if (cluster.type !== 'EDS' && cluster.type !== 3) return undefined;
  const service = cluster.eds_cluster_config?.service_name;
  return typeof service === 'string' && service !== '' ? service : cluster.name;
}

/** An HCM from either object form (`{'@type', ...fields}`) or packed Any form (`{type_url, value}`). */
function asHcm(config: unknown): Obj | undefined {
  if (!config || typeof config !== 'object') return undefined;
  const c = config as Obj;
  if (typeof c['@type'] === 'string') return typeNameOf(c['@type']) === HCM_TYPE ? c : undefined;
  if (
    typeof c.type_url === 'string' &&
    typeNameOf(c.type_url) === HCM_TYPE &&
    c.value instanceof Uint8Array
  ) {
    return decodeMessage(HCM_TYPE, c.value);
  }
  return undefined;
}
