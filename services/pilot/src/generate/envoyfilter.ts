// EnvoyFilter v1alpha3 configPatches (and the deprecated filters[]) applied after generation. Pure transforms.
import { encodeMessage, findUnknownFields, TypeName, typed } from '@keel/proto';
import { FilterNames, parseSubsetKey, VirtualInboundListenerName } from '../model/names.js';
import type { ConfigEntry, Proxy as MeshProxy, ProxyResources, PushContext } from '../model/types.js';
import {
  cloneResource,
  convertPatchValue,
  FILTER_CONFIG_TYPES,
  protoMerge,
  v3FilterName,
} from './envoyfilter-patch.js';
import type { EnvoyObject } from './route-spec.js';

/** Caller-owned counters: patches applied, dropped as invalid, skipped as unsupported. */
export interface EnvoyFilterStats {
  applied: number;
  invalid: number;
  unsupported: number;
}

export function newEnvoyFilterStats(): EnvoyFilterStats {
  return { applied: 0, invalid: 0, unsupported: 0 };
}

type Obj = Record<string, any>;
type Ctx = 'SIDECAR_INBOUND' | 'SIDECAR_OUTBOUND' | 'GATEWAY';
type Kind = 'clusters' | 'listeners' | 'routes';
const TYPE_OF: Record<Kind, string> = {
  clusters: TypeName.Cluster,
  listeners: TypeName.Listener,
  routes: TypeName.RouteConfiguration,
};

/** EnvoyFilters for the proxy: its namespace and the root namespace, workloadSelector (or workloadLabels) matching. */
export function envoyFiltersFor(push: PushContext, proxy: MeshProxy): ConfigEntry[] {
  return push.configs('EnvoyFilter').filter((f) => {
    if (f.namespace !== proxy.namespace && f.namespace !== push.mesh.rootNamespace) return false;
    const labels = (f.spec.workloadSelector?.labels ?? f.spec.workloadLabels) as
      | Record<string, string>
      | undefined;
    return !labels || Object.entries(labels).every(([k, v]) => proxy.labels[k] === v);
  });
}

const ctxOk = (want: string | undefined, have: Ctx): boolean => !want || want === 'ANY' || want === have;

function listenerCtx(proxy: MeshProxy, l: EnvoyObject): Ctx {
  if (proxy.type === 'router') return 'GATEWAY';
  return l.name === VirtualInboundListenerName || l.traffic_direction === 'INBOUND'
    ? 'SIDECAR_INBOUND'
    : 'SIDECAR_OUTBOUND';
}

const portOf = (l: EnvoyObject): number | undefined =>
  ((l.address as Obj | undefined)?.socket_address as Obj | undefined)?.port_value;

function listenerMatches(l: EnvoyObject, lm: Obj | undefined): boolean {
  if (!lm) return true;
  if (lm.name && lm.name !== l.name) return false;
  if (lm.portNumber && l.name !== VirtualInboundListenerName && Number(lm.portNumber) !== portOf(l))
    return false;
  return true;
}

function hcmOf(chain: EnvoyObject): Obj | undefined {
  const f = ((chain.filters ?? []) as Obj[]).find((x) => x.name === FilterNames.httpConnectionManager);
  return f?.typed_config;
}

function chainMatches(l: EnvoyObject, chain: EnvoyObject, lm: Obj | undefined): boolean {
  const m = (chain.filter_chain_match ?? {}) as Obj;
  if (
    lm?.portNumber &&
    l.name === VirtualInboundListenerName &&
    m.destination_port?.value !== Number(lm.portNumber)
  )
    return false;
  const fc = lm?.filterChain as Obj | undefined;
  if (!fc) return true;
  if (fc.name && fc.name !== chain.name && fc.name !== m.name) return false;
  if (fc.sni && !((m.server_names ?? []) as string[]).includes(fc.sni)) return false;
  const fname = fc.filter?.name ? v3FilterName(fc.filter.name) : undefined;
  if (fname && !((chain.filters ?? []) as Obj[]).some((f) => f.name === fname)) return false;
  const sub = fc.filter?.subFilter?.name ? v3FilterName(fc.filter.subFilter.name) : undefined;
  if (sub && !((hcmOf(chain)?.http_filters ?? []) as Obj[]).some((f) => f.name === sub)) return false;
  return true;
}

/** Applies `op` to a filter list around the filter named `target` (or the list ends). Returns the new list. */
function patchList(list: Obj[], op: string, target: string | undefined, value: unknown): Obj[] | undefined {
  const idx = target ? list.findIndex((f) => f.name === target) : -1;
  const v = value as Obj;
  switch (op) {
    case 'ADD':
      return [...list, v];
    case 'REMOVE':
      return target ? list.filter((f) => f.name !== target) : list;
    case 'MERGE':
      return idx < 0 ? list : list.map((f, i) => (i === idx ? protoMerge(f, v) : f));
    case 'INSERT_BEFORE':
      if (target && idx < 0) return list;
      return [...list.slice(0, Math.max(idx, 0)), v, ...list.slice(Math.max(idx, 0))];
    case 'INSERT_AFTER':
      if (target && idx < 0) return list;
      return idx < 0 ? [...list, v] : [...list.slice(0, idx + 1), v, ...list.slice(idx + 1)];
    default:
      return undefined;
  }
}

interface PatchCtx {
  proxy: MeshProxy;
  applyTo: string;
  match: Obj;
  op: string;
  value: unknown;
}

/** Listener-side patches; returns false when the operation is unsupported for applyTo. */
function patchListeners(res: ProxyResources, p: PatchCtx): boolean {
  const lm = p.match.listener as Obj | undefined;
  const selected = (l: EnvoyObject) =>
    ctxOk(p.match.context, listenerCtx(p.proxy, l)) && listenerMatches(l, lm);
  if (p.applyTo === 'LISTENER') {
    if (p.op === 'ADD') res.listeners.push(p.value as Obj);
    else if (p.op === 'REMOVE') res.listeners = res.listeners.filter((l) => !selected(l));
    else if (p.op === 'MERGE')
      res.listeners = res.listeners.map((l) => (selected(l) ? protoMerge(l, p.value as Obj) : l));
    else return false;
    return true;
  }
  let ok = true;
  res.listeners = res.listeners.map((l) => {
    if (!selected(l)) return l;
    const chains = (l.filter_chains ?? []) as Obj[];
    if (p.applyTo === 'FILTER_CHAIN') {
      if (p.op === 'ADD') return { ...l, filter_chains: [...chains, p.value] };
      if (p.op === 'REMOVE') return { ...l, filter_chains: chains.filter((c) => !chainMatches(l, c, lm)) };
      if (p.op === 'MERGE')
        return {
          ...l,
          filter_chains: chains.map((c) => (chainMatches(l, c, lm) ? protoMerge(c, p.value as Obj) : c)),
        };
      ok = false;
      return l;
    }
    return {
      ...l,
      filter_chains: chains.map((c) =>
        chainMatches(l, c, lm) ? patchChain(c, p, lm, () => (ok = false)) : c,
      ),
    };
  });
  return ok;
}

function patchChain(chain: Obj, p: PatchCtx, lm: Obj | undefined, unsupported: () => void): Obj {
  const filterName = lm?.filterChain?.filter?.name ? v3FilterName(lm.filterChain.filter.name) : undefined;
  if (p.applyTo === 'NETWORK_FILTER') {
    const filters = patchList(chain.filters ?? [], p.op, filterName, p.value);
    if (!filters) unsupported();
    return filters ? { ...chain, filters } : chain;
  }
  if (p.applyTo !== 'HTTP_FILTER') return chain;
  const hcm = hcmOf(chain);
  if (!hcm) return chain;
  const sub = lm?.filterChain?.filter?.subFilter?.name
    ? v3FilterName(lm.filterChain.filter.subFilter.name)
    : undefined;
  const httpFilters = patchList(hcm.http_filters ?? [], p.op, sub, p.value);
  if (!httpFilters) {
    unsupported();
    return chain;
  }
  const filters = (chain.filters as Obj[]).map((f) =>
    f.name === FilterNames.httpConnectionManager
      ? { ...f, typed_config: { ...f.typed_config, http_filters: httpFilters } }
      : f,
  );
  return { ...chain, filters };
}

function routeConfigMatches(p: PatchCtx, rc: EnvoyObject): boolean {
  const ctx: Ctx = p.proxy.type === 'router' ? 'GATEWAY' : 'SIDECAR_OUTBOUND';
  if (!ctxOk(p.match.context, ctx)) return false;
  const m = p.match.routeConfiguration as Obj | undefined;
  if (!m) return true;
  if (m.name && m.name !== rc.name) return false;
  if (m.portNumber) {
    const name = String(rc.name);
    const port = /^\d+$/.test(name) ? Number(name) : Number(name.split('.')[1]);
    if (port !== Number(m.portNumber)) return false;
  }
  return true;
}

function patchRoutes(res: ProxyResources, p: PatchCtx): boolean {
  const vhName = p.match.routeConfiguration?.vhost?.name as string | undefined;
  const vhOk = (vh: Obj) => !vhName || vh.name === vhName;
  let ok = true;
  res.routes = res.routes.map((rc) => {
    if (!routeConfigMatches(p, rc)) return rc;
    const vhosts = (rc.virtual_hosts ?? []) as Obj[];
    switch (`${p.applyTo}/${p.op}`) {
      case 'ROUTE_CONFIGURATION/MERGE':
        return protoMerge(rc, p.value as Obj);
      case 'VIRTUAL_HOST/ADD':
        return { ...rc, virtual_hosts: [...vhosts, p.value] };
      case 'VIRTUAL_HOST/REMOVE':
        return { ...rc, virtual_hosts: vhosts.filter((v) => !vhOk(v)) };
      case 'VIRTUAL_HOST/MERGE':
        return { ...rc, virtual_hosts: vhosts.map((v) => (vhOk(v) ? protoMerge(v, p.value as Obj) : v)) };
      case 'HTTP_ROUTE/MERGE':
        return {
          ...rc,
          virtual_hosts: vhosts.map((v) =>
            vhOk(v) ? { ...v, routes: (v.routes ?? []).map((r: Obj) => protoMerge(r, p.value as Obj)) } : v,
          ),
        };
      default:
        ok = false;
        return rc;
    }
  });
  return ok;
}

function clusterMatches(p: PatchCtx, c: EnvoyObject): boolean {
  const key = parseSubsetKey(String(c.name));
  const ctx: Ctx =
    p.proxy.type === 'router'
      ? 'GATEWAY'
      : key?.direction === 'inbound'
        ? 'SIDECAR_INBOUND'
        : 'SIDECAR_OUTBOUND';
  if (!ctxOk(p.match.context, ctx)) return false;
  const m = p.match.cluster as Obj | undefined;
  if (!m) return true;
  if (m.name && m.name !== c.name) return false;
  if (m.portNumber && key?.port !== Number(m.portNumber)) return false;
  if (m.service && key?.host !== m.service) return false;
  if (m.subset && key?.subset !== m.subset) return false;
  return true;
}

function patchClusters(res: ProxyResources, p: PatchCtx): boolean {
  if (p.op === 'ADD') res.clusters.push(p.value as Obj);
  else if (p.op === 'REMOVE') res.clusters = res.clusters.filter((c) => !clusterMatches(p, c));
  else if (p.op === 'MERGE')
    res.clusters = res.clusters.map((c) => (clusterMatches(p, c) ? protoMerge(c, p.value as Obj) : c));
  else return false;
  return true;
}

const KIND_OF: Record<string, Kind> = {
  LISTENER: 'listeners',
  FILTER_CHAIN: 'listeners',
  NETWORK_FILTER: 'listeners',
  HTTP_FILTER: 'listeners',
  ROUTE_CONFIGURATION: 'routes',
  VIRTUAL_HOST: 'routes',
  HTTP_ROUTE: 'routes',
  CLUSTER: 'clusters',
};

/** True when `r` has only known fields and protobufjs encodes it (wrong shapes throw there). */
export function encodable(type: string, r: unknown): boolean {
  if (findUnknownFields(type, r).length > 0) return false;
  try {
    encodeMessage(type, r);
    return true;
  } catch {
    return false;
  }
}

/** Applies one patch to a copy; returns the copy, or undefined (and counts) when unsupported or invalid. */
function applyOne(res: ProxyResources, p: PatchCtx, stats: EnvoyFilterStats): ProxyResources | undefined {
  const kind = KIND_OF[p.applyTo];
  if (!kind) {
    stats.unsupported++;
    return undefined;
  }
  const next: ProxyResources = { ...res, [kind]: cloneResource(res[kind]) };
  const ok =
    kind === 'listeners'
      ? patchListeners(next, p)
      : kind === 'routes'
        ? patchRoutes(next, p)
        : patchClusters(next, p);
  if (!ok) {
    stats.unsupported++;
    return undefined;
  }
  if (next[kind].some((r) => !encodable(TYPE_OF[kind], r))) {
    stats.invalid++;
    return undefined;
  }
  stats.applied++;
  return next;
}

/** Deprecated `filters[]` entry -> an HTTP_FILTER/NETWORK_FILTER patch; undefined when its config type is unknown. */
function legacyPatch(proxy: MeshProxy, f: Obj): PatchCtx | undefined {
  const name = v3FilterName(String(f.filterName ?? ''));
  const type = FILTER_CONFIG_TYPES[name];
  if (!type) return undefined;
  const value = { name, typed_config: typed(type, convertPatchValue(f.filterConfig ?? {}) as Obj) };
  const lm = (f.listenerMatch ?? {}) as Obj;
  const http = f.filterType !== 'NETWORK';
  const pos = (f.insertPosition ?? {}) as Obj;
  const relative = pos.relativeTo ? v3FilterName(pos.relativeTo) : undefined;
  const ops: Record<string, [string, string | undefined]> = {
    FIRST: ['INSERT_BEFORE', undefined],
    LAST: http ? ['INSERT_BEFORE', FilterNames.router] : ['ADD', undefined],
    BEFORE: ['INSERT_BEFORE', relative],
    AFTER: ['INSERT_AFTER', relative],
  };
  const [op, target] = ops[String(pos.index ?? 'FIRST')] ?? ops.FIRST!;
  const filterChain = http
    ? {
        filter: {
          name: FilterNames.httpConnectionManager,
          ...(target ? { subFilter: { name: target } } : {}),
        },
      }
    : target
      ? { filter: { name: target } }
      : undefined;
  const listener = {
    ...(lm.portNumber ? { portNumber: lm.portNumber } : {}),
    ...(filterChain ? { filterChain } : {}),
  };
  const context = lm.listenerType && lm.listenerType !== 'ANY' ? lm.listenerType : 'ANY';
  return { proxy, applyTo: http ? 'HTTP_FILTER' : 'NETWORK_FILTER', op, value, match: { context, listener } };
}

/**
 * Applies every EnvoyFilter for the proxy (root namespace first, then by precedence) to a copy of
 * `resources`. A patch that is unsupported or would make a resource invalid is skipped and counted.
 */
export function applyEnvoyFilters(
  push: PushContext,
  proxy: MeshProxy,
  resources: ProxyResources,
  stats: EnvoyFilterStats = newEnvoyFilterStats(),
): ProxyResources {
  const filters = envoyFiltersFor(push, proxy).sort(
    (a, b) =>
      Number(b.namespace === push.mesh.rootNamespace) - Number(a.namespace === push.mesh.rootNamespace),
  );
  let res: ProxyResources = resources;
  for (const ef of filters) {
    const patches: PatchCtx[] = [];
    for (const cp of (ef.spec.configPatches ?? []) as Obj[]) {
      patches.push({
        proxy,
        applyTo: String(cp.applyTo),
        match: cp.match ?? {},
        op: String(cp.patch?.operation),
        value: convertPatchValue(cp.patch?.value ?? {}),
      });
    }
    for (const f of (ef.spec.filters ?? []) as Obj[]) {
      const p = legacyPatch(proxy, f);
      if (p) patches.push(p);
      else stats.unsupported++;
    }
    for (const p of patches) res = applyOne(res, p, stats) ?? res;
  }
  return res;
}
