// PushContext: the immutable, indexed view of the mesh one push builds from.
import { kubernetesRegistry, serviceEntryRegistry } from './registry.js';
import {
  buildSidecarScope,
  indexDestinationRules,
  type ScopeInput,
  scopeKey,
  selectSidecar,
} from './scope.js';
import type {
  ConfigEntry,
  ConfigStoreSnapshot,
  Endpoint,
  Proxy as MeshProxy,
  PushContext,
  PushMemo,
  Service,
  SidecarScope,
  Workload,
} from './types.js';

export interface PushContextOptions {
  /** DNS suffix for Kubernetes hostnames; default `cluster.local`. */
  domain?: string;
  /** SPIFFE trust domain; default mesh trustDomain, else `cluster.local`. */
  trustDomain?: string;
  /** Carried into the context (see PushContext.memo). */
  memo?: PushMemo;
  /**
   * A context built from a store that differs from this one in none of the registry's inputs (see
   * REGISTRY_KINDS, the mesh config included): its services, endpoints and workloads are reused.
   */
  registryFrom?: PushContext;
}

/** Config kinds the service registry (services, endpoints, workloads) is built from, and the mesh config. */
export const REGISTRY_KINDS: ReadonlySet<string> = new Set([
  'Service',
  'Endpoints',
  'Pod',
  'Node',
  'ServiceEntry',
  'MeshConfig',
]);

/** Short host names in Istio config resolve against the config's namespace: `reviews` -> `reviews.default.svc.<domain>`. */
export function resolveShortName(host: string, namespace: string, domain: string): string {
  if (host === '*' || host.includes('.')) return host;
  return `${host}.${namespace}.svc.${domain}`;
}

/** Istio precedence: oldest first, then namespace, then name. Returns a new array. */
export function sortConfigs(entries: readonly ConfigEntry[]): ConfigEntry[] {
  return [...entries].sort(
    (a, b) =>
      a.createdAt - b.createdAt || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
  );
}

/**
 * An entry with its hosts resolved, one object per store entry and domain: a push after which an entry is
 * unchanged (the store keeps its object) hands generators the same resolved object as before.
 */
const resolved = new WeakMap<ConfigEntry, { domain: string; entry: ConfigEntry }>();

function resolvedOnce(e: ConfigEntry, domain: string, make: () => ConfigEntry): ConfigEntry {
  const held = resolved.get(e);
  if (held?.domain === domain) return held.entry;
  const entry = make();
  resolved.set(e, { domain, entry });
  return entry;
}

function withFqdnHost(dr: ConfigEntry, domain: string): ConfigEntry {
  return resolvedOnce(dr, domain, () => ({
    ...dr,
    spec: { ...dr.spec, host: resolveShortName(String(dr.spec.host ?? ''), dr.namespace, domain) },
  }));
}

function withFqdnHosts(vs: ConfigEntry, domain: string): ConfigEntry {
  return resolvedOnce(vs, domain, () => {
    const hosts = ((vs.spec.hosts ?? []) as string[]).map((h) => resolveShortName(h, vs.namespace, domain));
    return { ...vs, spec: { ...vs.spec, hosts } };
  });
}

function indexServices(lists: Service[][]): { services: Service[]; byHost: Map<string, Service> } {
  const byHost = new Map<string, Service>();
  for (const list of lists) {
    for (const s of [...list].sort((a, b) => a.createdAt - b.createdAt)) {
      if (!byHost.has(s.hostname)) byHost.set(s.hostname, s);
    }
  }
  const services = [...byHost.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));
  return { services, byHost };
}

function groupEndpoints(endpoints: Endpoint[], byHost: Map<string, Service>): Map<string, Endpoint[]> {
  const out = new Map<string, Endpoint[]>();
  for (const ep of endpoints) {
    const owner = byHost.get(ep.hostname);
    if (!owner) continue;
    const list = out.get(ep.hostname) ?? [];
    list.push(ep);
    out.set(ep.hostname, list);
  }
  return out;
}

function buildRegistry(
  kind: (k: string) => ConfigEntry[],
  regOpts: { domain: string; trustDomain: string; mesh: ConfigStoreSnapshot['mesh'] },
): Pick<PushContext, 'services' | 'serviceByHost' | 'endpointsByHost' | 'workloadsByIp'> {
  const kube = kubernetesRegistry(
    { services: kind('Service'), endpoints: kind('Endpoints'), pods: kind('Pod'), nodes: kind('Node') },
    regOpts,
  );
  const se = serviceEntryRegistry(kind('ServiceEntry'), regOpts);
  const { services, byHost } = indexServices([kube.services, se.services]);
  const endpointsByHost = groupEndpoints([...kube.endpoints, ...se.endpoints], byHost);
  const workloadsByIp = new Map<string, Workload>();
  for (const w of kube.workloads) if (w.ip && !workloadsByIp.has(w.ip)) workloadsByIp.set(w.ip, w);
  return { services, serviceByHost: byHost, endpointsByHost, workloadsByIp };
}

/** Builds every index once; the result is shared read-only by all proxy builds of this push. */
export function buildPushContext(store: ConfigStoreSnapshot, opts: PushContextOptions = {}): PushContext {
  const domain = opts.domain ?? 'cluster.local';
  const trustDomain = opts.trustDomain ?? store.mesh.trustDomain ?? 'cluster.local';
  // Sorted on first use: a context reusing the registry never sorts the registry's kinds.
  const sorted = new Map<string, ConfigEntry[]>();
  const kind = (k: string): ConfigEntry[] => {
    let list = sorted.get(k);
    if (!list) {
      list = sortConfigs(store.byKind.get(k) ?? []);
      sorted.set(k, list);
    }
    return list;
  };
  const reused = opts.registryFrom;
  const {
    services,
    serviceByHost: byHost,
    endpointsByHost,
    workloadsByIp,
  } = reused && reused.domain === domain && reused.trustDomain === trustDomain
    ? reused
    : buildRegistry(kind, { domain, trustDomain, mesh: store.mesh });
  const namespaceLabels = new Map(kind('Namespace').map((n) => [n.name, { ...n.labels }]));
  sorted.set(
    'DestinationRule',
    kind('DestinationRule').map((d) => withFqdnHost(d, domain)),
  );
  sorted.set(
    'VirtualService',
    kind('VirtualService').map((v) => withFqdnHosts(v, domain)),
  );
  const scopeInput: ScopeInput = {
    mesh: store.mesh,
    services,
    serviceByHost: byHost,
    destinationRules: indexDestinationRules(kind('DestinationRule'), store.mesh),
    virtualServices: kind('VirtualService'),
    sidecars: kind('Sidecar'),
  };
  const scopes = new Map<string, SidecarScope>();
  return {
    version: store.version,
    mesh: store.mesh,
    domain,
    trustDomain,
    services,
    serviceByHost: byHost,
    endpointsByHost,
    workloadsByIp,
    namespaceLabels,
    configs: (k: string) => kind(k),
    sidecarScope(proxy: MeshProxy): SidecarScope {
      const key = scopeKey(proxy, selectSidecar(scopeInput, proxy));
      let scope = scopes.get(key);
      if (!scope) {
        scope = buildSidecarScope(scopeInput, proxy);
        scopes.set(key, scope);
      }
      return scope;
    },
    ...(opts.memo ? { memo: opts.memo } : {}),
  };
}
