// One proxy scope's xDS snapshot: the config key that decides sharing, full builds and EDS-only rebuilds.
import { createHash } from 'node:crypto';
import { encodeMessage, TypeName, TypeUrl } from '@keel/proto';
import { makeResource, RepeatedResource, Snapshot, type XdsResource } from '@keel/xds';
import { buildEndpoints } from '../generate/endpoints.js';
import {
  assembleSidecarResources,
  edsClusterNames,
  type GenerateStats,
  generateInboundResources,
  generateProxyResources,
  generateScopeResources,
  type ScopeResources,
  sameItems,
  splitsByScope,
} from '../generate/index.js';
import { localityKeyPart } from '../generate/locality-lb.js';
import { sourceLabelsKey } from '../generate/route-match.js';
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
  /** Snapshot.consistent() problems: a build with any is not published. */
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
  if (splitsByScope(push, proxy)) return sharedKey(push, proxy);
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
    localityKeyPart(push, proxy),
  ];
  if (needsIdentity) parts.push(identity(proxy), proxy.metadata.ISTIO_VERSION ?? '');
  return JSON.stringify(parts);
}

/**
 * Key of the scope-shared part of a splitting sidecar (see `splitsByScope`): scope key, IP family, DNS
 * domain and which VirtualService `sourceLabels` its labels match (the only label reads outbound).
 */
export function sharedKey(push: PushContext, proxy: MeshProxy): string {
  const matches = sourceLabelsKey(push, proxy.labels);
  const family = proxy.ips.some((ip) => ip.includes(':')) ? 'v6' : 'v4';
  const locality = localityKeyPart(push, proxy);
  return JSON.stringify(['split', push.sidecarScope(proxy).key, family, proxy.dnsDomain, matches, locality]);
}

/** What a splitting sidecar's own part depends on besides the push: instances, IPs, locality, workload, labels. */
export function ownIdentity(proxy: MeshProxy): string {
  return JSON.stringify([identity(proxy), sorted(proxy.labels), proxy.metadata.ISTIO_VERSION ?? '']);
}

const VIRTUAL_HOST = TypeName.VirtualHost;
const ROUTE_CONFIGURATION = TypeName.RouteConfiguration;
/** RouteConfiguration.virtual_hosts. */
const VIRTUAL_HOSTS_FIELD = 2;

/**
 * Encoded VirtualHosts by content (their JSON), shared by every build: a RouteConfiguration is encoded as
 * its other fields plus cached VirtualHosts, so a route change re-encodes only the hosts that changed, and
 * scopes that see the same host (other namespaces' services) share its bytes. Entries unused during a
 * whole push are dropped at the next one.
 */
export class VirtualHostEncodings {
  private current = new Map<string, Uint8Array>();
  private previous = new Map<string, Uint8Array>();

  /** Called once per push. */
  rotate(): void {
    this.previous = this.current;
    this.current = new Map();
  }

  /** Hosts used since the last rotate. */
  get size(): number {
    return this.current.size;
  }

  /** Hosts encoded so far (cache misses). */
  encodes = 0;

  /** Encodings by object: an interned host (routes.ts) is found without its JSON. */
  private byObject = new WeakMap<object, Uint8Array>();

  bytesOf(vhost: Body): Uint8Array {
    const known = this.byObject.get(vhost);
    if (known) return known;
    const key = JSON.stringify(vhost);
    let bytes = this.current.get(key) ?? this.previous.get(key);
    if (!bytes) {
      bytes = encodeMessage(VIRTUAL_HOST, vhost);
      this.encodes += 1;
    }
    this.current.set(key, bytes);
    this.byObject.set(vhost, bytes);
    return bytes;
  }
}

/** 16-byte digest of one VirtualHost encoding as four 32-bit words (each encoding is one cached object). */
const partDigests = new WeakMap<Uint8Array, Uint32Array>();

function digestOf(part: Uint8Array): Uint32Array {
  let d = partDigests.get(part);
  if (!d) {
    const sha = createHash('sha256').update(part).digest();
    d = new Uint32Array(sha.buffer.slice(sha.byteOffset, sha.byteOffset + 16));
    partDigests.set(part, d);
  }
  return d;
}

/** The host digests a RouteConfiguration's version was hashed from, in host order (4 words a host). */
const tableDigests = new WeakMap<RepeatedResource, Uint32Array>();

/**
 * A RouteConfiguration as a resource: its fields but virtual_hosts as protobufjs encodes them, then each
 * virtual host (cached) as a field-2 entry, host order kept. Held as those parts (the cached host encodings):
 * framed straight from them, never copied whole.
 *
 * Its version is a hash of its own fields and of each host's digest, not of the megabytes of its bytes; equal
 * content gives an equal version (it is not the version of the bytes hashed whole, which only means a client
 * moving between the two forms is sent the table again). With `like` (the same-named table of the scope's
 * last build), a host at the same position as there is the same object, so its bytes and digest are taken
 * from `like` without a lookup: a patched table of 4,000 hosts costs what its changed hosts cost, where two
 * WeakMap lookups a host in a heap of hundreds of MB cost about 1 us (150 ms a push at 40 scopes).
 */
export function routeConfigurationResource(
  name: string,
  body: Body,
  vhosts: VirtualHostEncodings,
  like?: XdsResource,
): XdsResource {
  const { virtual_hosts: hosts = [], ...rest } = body as { virtual_hosts?: Body[] };
  const head = encodeMessage(ROUTE_CONFIGURATION, rest);
  const before = like instanceof RepeatedResource ? tableDigests.get(like) : undefined;
  const beforeHosts = before ? ((like!.body as { virtual_hosts?: Body[] }).virtual_hosts ?? []) : [];
  const parts: Uint8Array[] = new Array(hosts.length);
  const words = new Uint32Array(hosts.length * 4);
  for (let i = 0; i < hosts.length; i++) {
    const at = i * 4;
    if (before && beforeHosts[i] === hosts[i]) {
      parts[i] = (like as RepeatedResource).parts[i]!;
      words[at] = before[at]!;
      words[at + 1] = before[at + 1]!;
      words[at + 2] = before[at + 2]!;
      words[at + 3] = before[at + 3]!;
      continue;
    }
    const part = vhosts.bytesOf(hosts[i]!);
    const d = digestOf(part);
    parts[i] = part;
    words[at] = d[0]!;
    words[at + 1] = d[1]!;
    words[at + 2] = d[2]!;
    words[at + 3] = d[3]!;
  }
  const version = createHash('sha256').update(head).update(words).digest('hex').slice(0, 16);
  const resource = new RepeatedResource(
    TypeUrl.RouteConfiguration,
    name,
    body,
    head,
    VIRTUAL_HOSTS_FIELD,
    parts,
    version,
  );
  tableDigests.set(resource, words);
  return resource;
}

/** One resource encoded; RouteConfigurations through `vhosts` when given. */
function toResource(
  typeUrl: string,
  name: string,
  body: Body,
  vhosts?: VirtualHostEncodings,
  like?: XdsResource,
): XdsResource {
  if (vhosts && typeUrl === TypeUrl.RouteConfiguration)
    return routeConfigurationResource(name, body, vhosts, like);
  return makeResource(typeUrl, name, body);
}

function encode(
  typeUrl: string,
  list: readonly Record<string, unknown>[],
  key: string,
  vhosts?: VirtualHostEncodings,
): XdsResource[] {
  return list.map((body) => toResource(typeUrl, String(body[key]), body, vhosts));
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
export function fullBuild(
  push: PushContext,
  proxy: MeshProxy,
  key: string,
  stats?: GenerateStats,
  vhosts?: VirtualHostEncodings,
): Build {
  const started = performance.now();
  const resources = generateProxyResources(push, proxy, stats);
  const xds = [
    ...encode(TypeUrl.Cluster, resources.clusters, 'name'),
    ...encode(TypeUrl.ClusterLoadAssignment, resources.endpoints, 'cluster_name'),
    ...encode(TypeUrl.Listener, resources.listeners, 'name'),
    ...encode(TypeUrl.RouteConfiguration, resources.routes, 'name', vhosts),
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

/** The shared part of one split scope: generated once, encoded once, reused by every proxy of the scope. */
export interface ScopeBuild {
  key: string;
  version: string;
  resources: ScopeResources;
  edsNames: string[];
  /** Encoded cluster and listener objects of `resources`, by object. */
  xdsOf: ReadonlyMap<object, XdsResource>;
  endpoints: XdsResource[];
  routes: XdsResource[];
  /** The shared part as a snapshot: proxies' snapshots derive from it (EDS and RDS groups shared). */
  snapshot: Snapshot;
  /** Consistency problems of the shared part (own parts name no RDS or EDS resources). */
  missing: string[];
  durationMs: number;
}

/** One split proxy's snapshot: the scope's resources plus its own encoded inbound part. */
export interface ProxyBuild {
  scope: ScopeBuild;
  /** `ownIdentity` of the proxy it was built for. */
  identity: string;
  clusters: XdsResource[];
  listeners: XdsResource[];
  snapshot: Snapshot;
}

type Body = Record<string, unknown>;

/**
 * Encodes `list`; a resource encoding exactly as the same-named one of `prev` is `prev`'s (body and
 * encoding), so unchanged resources keep their identity across pushes.
 */
function encodeReusing(
  typeUrl: string,
  list: readonly Body[],
  key: string,
  prev: ReadonlyMap<string, XdsResource> | undefined,
  vhosts?: VirtualHostEncodings,
): { bodies: Body[]; xds: XdsResource[] } {
  const bodies: Body[] = [];
  const xds: XdsResource[] = [];
  for (const body of list) {
    const name = String(body[key]);
    const old = prev?.get(name);
    if (old?.body === body) {
      // The same object (kept or interned): its encoding cannot have changed.
      bodies.push(body);
      xds.push(old);
      continue;
    }
    const fresh = encodedBodies.get(body) ?? toResource(typeUrl, name, body, vhosts, old);
    if (typeUrl !== TypeUrl.RouteConfiguration) encodedBodies.set(body, fresh);
    const same = old !== undefined && sameContent(old, fresh);
    const chosen = same ? old : fresh;
    bodies.push(chosen.body as Body);
    xds.push(chosen);
  }
  return { bodies, xds };
}

/** Equal content: equal versions of two tables versioned from their parts, else equal bytes. */
function sameContent(a: XdsResource, b: XdsResource): boolean {
  if (a instanceof RepeatedResource && b instanceof RepeatedResource) return a.version === b.version;
  return bytesEqual(a.encoded, b.encoded);
}

/** Equal bytes, compared in place (Buffer.from of a Uint8Array would copy it). */
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * Encodings by body object: a cluster or endpoint body interned in the push memo (see `internBodies`) is
 * encoded once, however many scopes and pushes hold it.
 */
const encodedBodies = new WeakMap<object, XdsResource>();

/**
 * Clusters and endpoint assignments equal in content become one object (interned by their JSON in the push
 * memo): scopes of different namespaces mostly generate the same ones, and each distinct one is then held
 * and encoded once instead of once per scope.
 */
function internBodies(push: PushContext, kind: string, list: Body[]): Body[] {
  if (!push.memo) return list;
  const intern = push.memo.group(`body\n${kind}`);
  return list.map((b) => intern(JSON.stringify(b), () => b));
}

function scopeSnapshot(
  xdsOf: ReadonlyMap<object, XdsResource>,
  endpoints: XdsResource[],
  routes: XdsResource[],
  base?: Snapshot,
): Snapshot {
  return new Snapshot([...xdsOf.values(), ...endpoints, ...routes], base ? { base } : {});
}

/** True when `scope` kept `prev`'s clusters and listeners (same objects): proxies' own parts still fit it. */
export function sameOutboundShape(scope: ScopeBuild, prev: ScopeBuild): boolean {
  return (
    sameItems(scope.resources.clusters, prev.resources.clusters) &&
    sameItems(scope.resources.listeners, prev.resources.listeners)
  );
}

export interface ScopeBuildOptions {
  stats?: GenerateStats;
  /** The scope's previous build: resources encoding exactly as there keep its objects. */
  prev?: ScopeBuild;
  /**
   * Only config that clusters and endpoints never read changed since `prev` (VirtualServices, Gateways):
   * `prev`'s clusters and endpoints are kept as they are, only listeners and routes are generated.
   */
  keepOutbound?: boolean;
  vhosts?: VirtualHostEncodings;
}

/**
 * Generates and encodes the shared part for `proxy`'s scope. Resources encoding exactly as in `prev`
 * (the scope's previous build) are `prev`'s objects, and unchanged types share `prev`'s snapshot groups.
 */
export function scopeBuild(
  push: PushContext,
  proxy: MeshProxy,
  key: string,
  options: ScopeBuildOptions = {},
): ScopeBuild {
  const { stats, prev, vhosts } = options;
  const started = performance.now();
  const kept = options.keepOutbound && prev ? prev : undefined;
  const generated = generateScopeResources(push, proxy, stats, kept?.resources);
  const enc = (t: string, list: Body[], field: string) =>
    encodeReusing(t, list, field, prev?.snapshot.resources(t), vhosts);
  const r = enc(TypeUrl.RouteConfiguration, generated.routes, 'name');
  const l = enc(TypeUrl.Listener, generated.listeners, 'name');
  // Listeners kept as they were (nothing they read changed), or generated again as the same objects.
  if (kept && sameItems(l.bodies, kept.resources.listeners))
    return routesRebuilt(kept, push, generated, r, started);
  const c = kept
    ? { bodies: kept.resources.clusters, xds: kept.resources.clusters.map((b) => kept.xdsOf.get(b)!) }
    : enc(TypeUrl.Cluster, internBodies(push, 'cluster', generated.clusters), 'name');
  const e = kept
    ? { bodies: kept.resources.endpoints, xds: kept.endpoints }
    : enc(
        TypeUrl.ClusterLoadAssignment,
        internBodies(push, 'endpoints', generated.endpoints),
        'cluster_name',
      );
  const resources: ScopeResources = {
    clusters: c.bodies,
    endpoints: e.bodies,
    listeners: l.bodies,
    routes: r.bodies,
    listenerReads: generated.listenerReads,
    listenerRejections: generated.listenerRejections,
  };
  const xdsOf = new Map<object, XdsResource>();
  for (const part of [c, l]) part.bodies.forEach((b, i) => void xdsOf.set(b, part.xds[i]!));
  const endpoints = e.xds;
  const routes = r.xds;
  const snapshot = scopeSnapshot(xdsOf, endpoints, routes, prev?.snapshot);
  return {
    key,
    version: push.version,
    resources,
    edsNames: edsClusterNames(resources.clusters),
    xdsOf,
    endpoints,
    routes,
    snapshot,
    missing: snapshot.consistent(),
    durationMs: performance.now() - started,
  };
}

/**
 * `kept` with new routes: its clusters, endpoints and listeners came out as the same objects, so their
 * snapshot groups, encodings and EDS names are `kept`'s, and with the same route names the consistency
 * check finds what it found for `kept` (nothing per cluster or listener is looked at again).
 */
function routesRebuilt(
  kept: ScopeBuild,
  push: PushContext,
  generated: ScopeResources,
  r: { bodies: Body[]; xds: XdsResource[] },
  started: number,
): ScopeBuild {
  const routeTypes = { types: [TypeUrl.RouteConfiguration], base: kept.snapshot };
  const snapshot = Snapshot.compose([
    ...kept.snapshot.types().map((t) => [t, kept.snapshot] as const),
    [TypeUrl.RouteConfiguration, new Snapshot(r.xds, routeTypes)],
  ]);
  const names = (s: Snapshot) => [...s.resources(TypeUrl.RouteConfiguration).keys()];
  return {
    ...kept,
    version: push.version,
    resources: {
      ...kept.resources,
      routes: r.bodies,
      listenerReads: generated.listenerReads,
      listenerRejections: generated.listenerRejections,
    },
    routes: r.xds,
    snapshot,
    missing: sameItems(names(snapshot), names(kept.snapshot)) ? kept.missing : snapshot.consistent(),
    durationMs: performance.now() - started,
  };
}

/** EDS-only rebuild of a scope: only the ClusterLoadAssignments of `hosts` are regenerated. */
export function scopeEndpointsBuild(
  prev: ScopeBuild,
  push: PushContext,
  proxy: MeshProxy,
  hosts: ReadonlySet<string>,
): ScopeBuild {
  const started = performance.now();
  const fresh = buildEndpoints(
    push,
    proxy,
    prev.edsNames.filter((n) => forHosts(n, hosts)),
  );
  const freshByName = new Map(fresh.map((e) => [String(e.cluster_name), e]));
  const endpoints = prev.resources.endpoints.map((e) => freshByName.get(String(e.cluster_name)) ?? e);
  const xdsEndpoints = prev.endpoints.map((x) => {
    const e = freshByName.get(x.name);
    return e ? makeResource(TypeUrl.ClusterLoadAssignment, x.name, e) : x;
  });
  return {
    ...prev,
    version: push.version,
    resources: { ...prev.resources, endpoints },
    endpoints: xdsEndpoints,
    snapshot: scopeSnapshot(prev.xdsOf, xdsEndpoints, prev.routes, prev.snapshot),
    durationMs: performance.now() - started,
  };
}

/**
 * The scope's snapshot with the proxy's CDS and LDS: its other types are the scope's groups as they are
 * (composed, not regrouped: a proxy costs nothing per endpoint assignment or route table).
 */
function proxySnapshot(scope: ScopeBuild, clusters: XdsResource[], listeners: XdsResource[]): Snapshot {
  const own = new Snapshot([...clusters, ...listeners], {
    types: [TypeUrl.Cluster, TypeUrl.Listener],
    base: scope.snapshot,
  });
  return Snapshot.compose([
    ...scope.snapshot.types().map((t) => [t, scope.snapshot] as const),
    [TypeUrl.Cluster, own],
    [TypeUrl.Listener, own],
  ]);
}

/** A split proxy's snapshot: its own inbound part generated and encoded, the rest taken from `scope`. */
export function proxyBuild(
  scope: ScopeBuild,
  push: PushContext,
  proxy: MeshProxy,
  stats?: GenerateStats,
): ProxyBuild {
  const inbound = generateInboundResources(push, proxy, stats?.listeners, stats?.rejected);
  const { resources, own } = assembleSidecarResources(scope.resources, inbound);
  const ownXds = new Map<object, XdsResource>();
  for (const c of own.clusters) ownXds.set(c, makeResource(TypeUrl.Cluster, String(c.name), c));
  for (const l of own.listeners) ownXds.set(l, makeResource(TypeUrl.Listener, String(l.name), l));
  const enc = (o: object) => scope.xdsOf.get(o) ?? ownXds.get(o)!;
  const clusters = resources.clusters.map(enc);
  const listeners = resources.listeners.map(enc);
  return {
    scope,
    identity: ownIdentity(proxy),
    clusters,
    listeners,
    snapshot: proxySnapshot(scope, clusters, listeners),
  };
}

/**
 * After a scope rebuild that kept its clusters and listeners (same objects): the proxy's CDS and LDS as they
 * were (same groups, versions and answers), EDS and RDS from the new scope.
 */
export function proxyRebase(prev: ProxyBuild, scope: ScopeBuild): ProxyBuild {
  const snapshot = Snapshot.compose([
    ...scope.snapshot.types().map((t) => [t, scope.snapshot] as const),
    [TypeUrl.Cluster, prev.snapshot],
    [TypeUrl.Listener, prev.snapshot],
  ]);
  return { ...prev, scope, snapshot };
}
