// SidecarScope (Istio 1.4): which services, VirtualServices and DestinationRules a proxy sees.
import { clientKey, profileOf } from './client.js';
import { normalizeExportTo } from './registry.js';
import type { ConfigEntry, Proxy as MeshProxy, MeshView, Service, SidecarScope } from './types.js';

/** True when host name `host` is covered by `pattern` (`*`, `*.suffix`, or exact); wildcards on both sides allowed. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*' || pattern === host) return true;
  if (pattern.startsWith('*')) {
    const suffix = pattern.slice(1);
    if (host.startsWith('*')) return host.slice(1).endsWith(suffix);
    return host.endsWith(suffix);
  }
  return false;
}

/** The candidate that covers `host` most specifically: exact first, then the longest wildcard. */
export function mostSpecificHost(host: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const c of candidates) {
    if (c === host) return c;
    if (c.startsWith('*') && hostMatches(c, host) && (best === undefined || c.length > best.length)) best = c;
  }
  return best;
}

/** Visible from `namespace` under exportTo `*` (everywhere) or `.` (own namespace). */
export function exportedTo(exportTo: readonly string[], ownerNamespace: string, namespace: string): boolean {
  return exportTo.includes('*') || (exportTo.includes('.') && ownerNamespace === namespace);
}

/** DestinationRules merged per FQDN host: all rules by namespace, and those exported to every namespace. */
export interface DestinationRuleIndex {
  local: ReadonlyMap<string, ReadonlyMap<string, ConfigEntry>>;
  exported: ReadonlyMap<string, ReadonlyMap<string, ConfigEntry>>;
}

/** Merges `rule` into `into` (same host): subsets appended unless the name exists, first trafficPolicy kept. */
function mergeRule(into: ConfigEntry | undefined, rule: ConfigEntry): ConfigEntry {
  if (!into) return rule;
  const names = new Set(((into.spec.subsets ?? []) as Array<{ name: string }>).map((s) => s.name));
  const extra = ((rule.spec.subsets ?? []) as Array<{ name: string }>).filter((s) => !names.has(s.name));
  return {
    ...into,
    spec: {
      ...into.spec,
      subsets: [...(into.spec.subsets ?? []), ...extra],
      ...(into.spec.trafficPolicy || !rule.spec.trafficPolicy
        ? {}
        : { trafficPolicy: rule.spec.trafficPolicy }),
    },
  };
}

/** Indexes DestinationRules (hosts already FQDN, oldest first) for the lookup in `destinationRuleFor`. */
export function indexDestinationRules(rules: readonly ConfigEntry[], mesh: MeshView): DestinationRuleIndex {
  const local = new Map<string, Map<string, ConfigEntry>>();
  const exported = new Map<string, Map<string, ConfigEntry>>();
  const add = (index: Map<string, Map<string, ConfigEntry>>, rule: ConfigEntry) => {
    const byHost = index.get(rule.namespace) ?? new Map<string, ConfigEntry>();
    const host = String(rule.spec.host);
    byHost.set(host, mergeRule(byHost.get(host), rule));
    index.set(rule.namespace, byHost);
  };
  for (const rule of rules) {
    add(local, rule);
    const exportTo = normalizeExportTo(rule.spec.exportTo, mesh.defaultDestinationRuleExportTo);
    if (exportTo.includes('*')) add(exported, rule);
  }
  return { local, exported };
}

/** Istio 1.4 lookup: proxy namespace (unless root), then the service's namespace (exported), then root. */
export function destinationRuleFor(
  index: DestinationRuleIndex,
  rootNamespace: string,
  proxyNamespace: string,
  hostname: string,
  serviceNamespace: string | undefined,
): ConfigEntry | undefined {
  const lookIn = (byHost: ReadonlyMap<string, ConfigEntry> | undefined) => {
    if (!byHost) return undefined;
    const h = mostSpecificHost(hostname, byHost.keys());
    return h === undefined ? undefined : byHost.get(h);
  };
  if (proxyNamespace !== rootNamespace) {
    const hit = lookIn(index.local.get(proxyNamespace));
    if (hit) return hit;
  }
  if (serviceNamespace) {
    const hit = lookIn(index.exported.get(serviceNamespace));
    if (hit) return hit;
  }
  return lookIn(index.exported.get(rootNamespace));
}

/** Everything a scope is computed from (built once per push). */
export interface ScopeInput {
  mesh: MeshView;
  /** Sorted by hostname, one per hostname. */
  services: readonly Service[];
  serviceByHost: ReadonlyMap<string, Service>;
  destinationRules: DestinationRuleIndex;
  /** Hosts already FQDN, precedence order. */
  virtualServices: readonly ConfigEntry[];
  /** Precedence order. */
  sidecars: readonly ConfigEntry[];
}

function selectorMatches(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The Sidecar for a proxy: a selector match in its namespace, else its selector-less one, else the root default. */
export function selectSidecar(input: ScopeInput, proxy: MeshProxy): ConfigEntry | undefined {
  if (proxy.type !== 'sidecar') return undefined;
  const inNs = input.sidecars.filter((s) => s.namespace === proxy.namespace);
  const bySelector = inNs.find((s) => selectorMatches(s.spec.workloadSelector?.labels, proxy.labels));
  if (bySelector) return bySelector;
  const plain = inNs.find((s) => !s.spec.workloadSelector);
  if (plain) return plain;
  return input.sidecars.find((s) => s.namespace === input.mesh.rootNamespace && !s.spec.workloadSelector);
}

interface EgressHost {
  namespace: string;
  host: string;
}

/** Parses `ns/dnsName` egress hosts; `.` becomes the proxy namespace, a bare host means any namespace. */
export function parseEgressHosts(sidecar: ConfigEntry, proxyNamespace: string): EgressHost[] {
  const out: EgressHost[] = [];
  for (const egress of (sidecar.spec.egress ?? []) as Array<{ hosts?: string[] }>) {
    for (const h of egress.hosts ?? []) {
      const slash = h.indexOf('/');
      const ns = slash >= 0 ? h.slice(0, slash) : '*';
      const host = slash >= 0 ? h.slice(slash + 1) : h;
      if (ns === '~') continue;
      out.push({ namespace: ns === '.' ? proxyNamespace : ns, host });
    }
  }
  return out;
}

function egressAllows(
  egress: EgressHost[] | undefined,
  namespace: string,
  hosts: readonly string[],
): boolean {
  if (!egress) return true;
  return egress.some(
    (e) =>
      (e.namespace === '*' || e.namespace === namespace) &&
      hosts.some((h) => hostMatches(e.host, h) || hostMatches(h, e.host)),
  );
}

function isMeshVirtualService(vs: ConfigEntry): boolean {
  const gateways = (vs.spec.gateways ?? []) as string[];
  return gateways.length === 0 || gateways.includes('mesh');
}

/**
 * Cache key: proxies with equal keys get identical outbound config (clusters, outbound listeners and
 * routes). It covers namespace, Sidecar (name and version), node type, generator and SDS use;
 * inbound config depends on each proxy's own service instances and is not covered.
 */
export function scopeKey(proxy: MeshProxy, sidecar: ConfigEntry | undefined): string {
  const sc = sidecar ? `${sidecar.namespace}/${sidecar.name}@${sidecar.version}` : '-';
  const sds = proxy.metadata.SDS ? 'sds' : 'files';
  return `${proxy.namespace}|${sc}|${proxy.type}|${clientKey(profileOf(proxy))}|${sds}`;
}

const publicLists = new WeakMap<readonly Service[], boolean>();

/** True when every service of the list is exported to every namespace (`*`), memoized per list. */
function everyServicePublic(services: readonly Service[]): boolean {
  let all = publicLists.get(services);
  if (all === undefined) {
    all = services.every((s) => s.exportTo.includes('*'));
    publicLists.set(services, all);
  }
  return all;
}

/** Computes the scope for a proxy; pure in (input, proxy). */
export function buildSidecarScope(input: ScopeInput, proxy: MeshProxy): SidecarScope {
  const ns = proxy.namespace;
  const sidecar = selectSidecar(input, proxy);
  const egress = sidecar ? parseEgressHosts(sidecar, ns) : undefined;
  // Without Sidecar egress and with every service exported everywhere, every scope sees the whole registry:
  // the same array (generators then share what they derive from it, see routes.ts).
  const services =
    !egress && everyServicePublic(input.services)
      ? (input.services as Service[])
      : input.services.filter(
          (s) => exportedTo(s.exportTo, s.namespace, ns) && egressAllows(egress, s.namespace, [s.hostname]),
        );
  const virtualServices = input.virtualServices.filter((vs) => {
    if (!isMeshVirtualService(vs)) return false;
    const exportTo = normalizeExportTo(vs.spec.exportTo, input.mesh.defaultVirtualServiceExportTo);
    return exportedTo(exportTo, vs.namespace, ns) && egressAllows(egress, vs.namespace, vs.spec.hosts ?? []);
  });
  const drCache = new Map<string, ConfigEntry | undefined>();
  return {
    ...(sidecar ? { sidecar } : {}),
    services,
    virtualServices,
    destinationRule(hostname: string) {
      if (!drCache.has(hostname)) {
        const svcNs = input.serviceByHost.get(hostname)?.namespace;
        drCache.set(
          hostname,
          destinationRuleFor(input.destinationRules, input.mesh.rootNamespace, ns, hostname, svcNs),
        );
      }
      return drCache.get(hostname);
    },
    key: scopeKey(proxy, sidecar),
  };
}
