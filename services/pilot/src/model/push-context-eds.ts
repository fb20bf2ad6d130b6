// An endpoints-only change without a full push-context rebuild: the new context shares every index
// of the previous one but `endpointsByHost`, recomputed for the changed hosts only.
import { sortConfigs } from './push-context.js';
import { kubernetesRegistry } from './registry.js';
import type { ConfigEntry, ConfigStoreSnapshot, Endpoint, PushContext } from './types.js';

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * `prev` with the endpoints of `hosts` taken from `store`, which must differ from the store `prev` was built
 * from in Endpoints only (an EDS-only push). Undefined when the change reaches further than endpoints
 * (a ServiceEntry host, or a Kubernetes service whose service accounts changed): build a full context then.
 */
export function withEndpoints(
  prev: PushContext,
  store: ConfigStoreSnapshot,
  hosts: ReadonlySet<string>,
): PushContext | undefined {
  const serviceEntries = store.byKind.get('ServiceEntry') ?? [];
  const wanted = new Map<string, string>();
  for (const host of hosts) {
    const svc = prev.serviceByHost.get(host);
    if (!svc) continue; // endpoints of a host without a service are never grouped
    if (svc.registry !== 'kubernetes') return undefined;
    if (serviceEntries.some((se) => ((se.spec as { hosts?: string[] }).hosts ?? []).includes(host)))
      return undefined;
    wanted.set(`${svc.namespace}/${svc.name}`, host);
  }
  const pick = (kind: string): ConfigEntry[] =>
    (store.byKind.get(kind) ?? []).filter((e) => wanted.has(`${e.namespace}/${e.name}`));
  const services = pick('Service');
  if (services.length !== wanted.size) return undefined;
  const view = kubernetesRegistry(
    {
      services: sortConfigs(services),
      endpoints: sortConfigs(pick('Endpoints')),
      pods: sortConfigs(store.byKind.get('Pod') ?? []),
      nodes: sortConfigs(store.byKind.get('Node') ?? []),
    },
    { domain: prev.domain, trustDomain: prev.trustDomain, mesh: store.mesh },
  );
  for (const s of view.services) {
    const old = prev.serviceByHost.get(s.hostname);
    if (!old || !sameList(old.serviceAccounts, s.serviceAccounts)) return undefined;
  }
  const fresh = new Map<string, Endpoint[]>();
  for (const ep of view.endpoints) {
    const list = fresh.get(ep.hostname) ?? [];
    list.push(ep);
    fresh.set(ep.hostname, list);
  }
  const changed = new Set(wanted.values());
  const endpointsByHost = new Map<string, readonly Endpoint[]>();
  for (const [host, list] of prev.endpointsByHost) {
    if (!changed.has(host)) endpointsByHost.set(host, list);
    else if (fresh.has(host)) endpointsByHost.set(host, fresh.get(host)!);
  }
  for (const [host, list] of fresh) if (!endpointsByHost.has(host)) endpointsByHost.set(host, list);
  return { ...prev, version: store.version, endpointsByHost };
}
