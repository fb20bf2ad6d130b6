import { decodeMessage, TypeUrl, typeNameOf, XDS_ORDER } from '@keel/proto';
import { pairOf, shortHash, versionOf, type XdsResource } from './resource.js';

const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const EMPTY: ReadonlyMap<string, XdsResource> = new Map();

export interface SnapshotOptions {
  /** Types this snapshot serves even when it holds none of them (an empty list is an answer). Default XDS_ORDER. */
  types?: readonly string[];
  /**
   * A snapshot most resources come from (e.g. a scope shared by many proxies): a type whose resources are
   * exactly the base's (same objects, same order) shares the base's group, so answers and encodings are
   * shared too; other types get a version derived from the base's and what differs from it (see Group.derived).
   */
  base?: Snapshot;
}

/** One type's resources by name and their content version (`versionOf`); immutable, shared by snapshots. */
class Group {
  private constructor(
    readonly byName: ReadonlyMap<string, XdsResource>,
    readonly version: string,
  ) {}

  static of(byName: ReadonlyMap<string, XdsResource>): Group {
    return new Group(byName, versionOf(byName.values()));
  }

  /**
   * `byName`'s group with its version derived from `base`: a hash of the base's version, the `name=version`
   * pairs of resources not shared with it and the base names it lacks or replaces. That is a function of
   * the content (equal content on an equal base, equal version) costing nothing per shared resource; it is
   * not the version `of` would compute, which only means a client moving between the two forms is sent
   * the type again.
   */
  static derived(byName: ReadonlyMap<string, XdsResource>, base: Group): Group {
    const extra: string[] = [];
    let shared = 0;
    for (const r of byName.values()) {
      if (base.byName.get(r.name) === r) shared += 1;
      else extra.push(pairOf(r));
    }
    if (shared * 2 < base.byName.size) return Group.of(byName);
    const dropped: string[] = [];
    if (shared < base.byName.size)
      for (const [name, r] of base.byName) if (byName.get(name) !== r) dropped.push(name);
    const text = `${base.version}\n+${extra.sort().join('\n')}\n-${dropped.sort().join('\n')}`;
    return new Group(byName, shortHash(text));
  }
}

const sameList = (list: readonly XdsResource[], group: Group): boolean => {
  if (list.length !== group.byName.size) return false;
  let i = 0;
  for (const r of group.byName.values()) if (list[i++] !== r) return false;
  return true;
};

/**
 * An immutable set of resources for one proxy scope, grouped by type URL.
 * A type the snapshot does not serve has version ''; watches on it stay parked.
 */
export class Snapshot {
  private readonly groups = new Map<string, Group>();

  /** Later resources with the same type and name replace earlier ones. */
  constructor(resources: Iterable<XdsResource>, options: SnapshotOptions = {}) {
    const lists = new Map<string, XdsResource[]>();
    for (const t of options.types ?? XDS_ORDER) lists.set(t, []);
    for (const r of resources) {
      let list = lists.get(r.typeUrl);
      if (!list) {
        list = [];
        lists.set(r.typeUrl, list);
      }
      list.push(r);
    }
    for (const [typeUrl, list] of lists) {
      const base = options.base?.groups.get(typeUrl);
      if (base && sameList(list, base)) {
        this.groups.set(typeUrl, base);
        continue;
      }
      const byName = new Map<string, XdsResource>();
      for (const r of list) byName.set(r.name, r);
      this.groups.set(typeUrl, base ? Group.derived(byName, base) : Group.of(byName));
    }
  }

  /**
   * A snapshot made of other snapshots' types: each `[typeUrl, source]` takes the source's group as it is
   * (resources, version and memoized answers), so composing costs nothing per resource. A later pair for the
   * same type wins; a type its source does not serve is not served.
   */
  static compose(parts: Iterable<readonly [string, Snapshot]>): Snapshot {
    const out = new Snapshot([], { types: [] });
    for (const [typeUrl, source] of parts) {
      const group = source.groups.get(typeUrl);
      if (group) out.groups.set(typeUrl, group);
      else out.groups.delete(typeUrl);
    }
    return out;
  }

  /** Content version of every resource of this type; '' when the snapshot does not serve the type. */
  version(typeUrl: string): string {
    return this.groups.get(typeUrl)?.version ?? '';
  }

  /** The resources of a type by name; the same map object for snapshots sharing the type's group. */
  resources(typeUrl: string): ReadonlyMap<string, XdsResource> {
    return this.groups.get(typeUrl)?.byName ?? EMPTY;
  }

  /** Type URLs this snapshot serves. */
  types(): string[] {
    return [...this.groups.keys()];
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
