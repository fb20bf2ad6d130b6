// Nothing Envoy would reject is sent: every generated resource, after EnvoyFilter patches, is checked
// against Envoy's PGV rules (envoy-pgv.ts) and the C++ checks that bite (no `:`-prefixed or `host`
// header mutations, router filter last, unique domains, weighted-cluster sums). The smallest unit at
// fault is repaired or left out, and each case is reported with the config object that caused it. Pure.
import { TypeName } from '@keel/proto';
import type { ProxyResources } from '../model/types.js';
import {
  contentKey,
  passedBefore,
  pgvViolations,
  rememberPassed,
  virtualHostViolations,
} from './envoy-pgv.js';
import type { EnvoyObject } from './route-spec.js';

/** One repaired or removed part of a proxy's resources. */
export interface EnvoyRuleRejection {
  type: 'cluster' | 'listener' | 'route';
  /** Resource name (cluster, listener or RouteConfiguration). */
  resource: string;
  /** The part at fault: `vhost/route`, `vhost`, or the resource itself. */
  unit: string;
  /** The config object that produced it, e.g. `VirtualService default/reviews` or `EnvoyFilter ns/name`. */
  config: string;
  reason: string;
  action: 'repaired' | 'removed' | 'unpatched';
}

/** Which config object a generated route came from (set by the route translator). */
export const routeOrigin = new WeakMap<object, string>();

const ROUTER = 'envoy.filters.http.router';
const UPPER = /[A-Z]/;
const HCM = 'envoy.filters.network.http_connection_manager';
const T = {
  cluster: TypeName.Cluster,
  listener: TypeName.Listener,
  route: TypeName.Route,
  vhost: TypeName.VirtualHost,
  rc: TypeName.RouteConfiguration,
};

const forbiddenHeader = (k: unknown): boolean => {
  const key = String(k).toLowerCase();
  return key.startsWith(':') || key === 'host';
};

type Report = (r: Omit<EnvoyRuleRejection, 'type' | 'resource'>) => void;

/** Header mutations Envoy refuses; a `Host` set on a routed route becomes host_rewrite_literal. */
function fixHeaderMutations(
  o: EnvoyObject,
  route: EnvoyObject | undefined,
  unit: string,
  config: string,
  report: Report,
): EnvoyObject {
  const add = (o.request_headers_to_add ?? []) as EnvoyObject[];
  const remove = (o.request_headers_to_remove ?? []) as string[];
  if (!add.some((h) => forbiddenHeader((h.header as EnvoyObject)?.key)) && !remove.some(forbiddenHeader))
    return o;
  const out: EnvoyObject = { ...o };
  const kept: EnvoyObject[] = [];
  for (const h of add) {
    const key = String((h.header as EnvoyObject)?.key ?? '');
    if (!forbiddenHeader(key)) {
      kept.push(h);
      continue;
    }
    const action = route?.route as EnvoyObject | undefined;
    if (key.toLowerCase() === 'host' && action && out.route) {
      out.route = { ...action, host_rewrite_literal: String((h.header as EnvoyObject).value ?? '') };
      delete (out.route as EnvoyObject).auto_host_rewrite;
      report({
        unit,
        config,
        reason: `request header "${key}" set: Envoy refuses to modify it; host_rewrite_literal used`,
        action: 'repaired',
      });
    } else {
      report({ unit, config, reason: `request header "${key}" may not be modified`, action: 'removed' });
    }
  }
  if (kept.length > 0) out.request_headers_to_add = kept;
  else delete out.request_headers_to_add;
  const keptRemove = remove.filter((k) => !forbiddenHeader(k));
  for (const k of remove.filter(forbiddenHeader))
    report({ unit, config, reason: `request header "${k}" may not be removed`, action: 'removed' });
  if (keptRemove.length > 0) out.request_headers_to_remove = keptRemove;
  else delete out.request_headers_to_remove;
  return out;
}

/** Header mutations of each weighted cluster (a Host set there has no rewrite equivalent: removed). */
function fixWeightedClusters(route: EnvoyObject, unit: string, config: string, report: Report): EnvoyObject {
  const action = route.route as EnvoyObject | undefined;
  const wc = action?.weighted_clusters as EnvoyObject | undefined;
  if (!wc) return route;
  const clusters = (wc.clusters ?? []) as EnvoyObject[];
  const fixed = clusters.map((c) =>
    fixHeaderMutations(c, undefined, `${unit}/${String(c.name)}`, config, report),
  );
  if (fixed.every((c, i) => c === clusters[i])) return route;
  return { ...route, route: { ...action, weighted_clusters: { ...wc, clusters: fixed } } };
}

function weightProblem(route: EnvoyObject): string | undefined {
  const wc = (route.route as EnvoyObject | undefined)?.weighted_clusters as EnvoyObject | undefined;
  if (!wc) return undefined;
  const sum = ((wc.clusters ?? []) as EnvoyObject[]).reduce(
    (s, c) => s + Number((c.weight as EnvoyObject | undefined)?.value ?? 0),
    0,
  );
  const total = (wc.total_weight as EnvoyObject | undefined)?.value;
  if (total !== undefined && sum !== Number(total))
    return `weighted clusters sum to ${sum}, not total_weight ${total}`;
  return sum > 0 ? undefined : 'weighted clusters sum to 0';
}

/** A host's domains lowercased (the same array when none has an upper-case letter), by host object. */
const loweredDomains = new WeakMap<object, readonly string[]>();

function lowered(vh: EnvoyObject): readonly string[] {
  let out = loweredDomains.get(vh);
  if (!out) {
    const domains = (vh.domains ?? []) as string[];
    out = domains.some((d) => UPPER.test(d)) ? domains.map((d) => d.toLowerCase()) : domains;
    loweredDomains.set(vh, out);
  }
  return out;
}

/** Claims every domain of a host when none is taken yet; else claims none. */
function claimDomains(vh: EnvoyObject, seen: Set<string>): boolean {
  const domains = lowered(vh);
  for (let i = 0; i < domains.length; i++) {
    const d = domains[i]!;
    if (seen.has(d)) {
      for (let j = 0; j < i; j++) seen.delete(domains[j]!);
      return false;
    }
    seen.add(d);
  }
  return true;
}

/** Virtual host objects that passed untouched (their content cannot change: generated objects are not mutated). */
const passedHosts = new WeakSet<object>();

type ReportArgs = Parameters<Report>[0];

/**
 * Checks one virtual host of a table: domains an earlier host `taken` are dropped (each reported), the
 * rest `claim`ed; header mutations repaired, routes Envoy would reject left out. Returns the host (the
 * same object when it passed untouched) or null when nothing of it is left; `dups` receives the domains
 * found taken (lowercased).
 */
function checkVirtualHost(
  vh0: EnvoyObject,
  taken: (domain: string) => boolean,
  claim: (domain: string) => void,
  fallbackConfig: string,
  report: Report,
  dups: string[],
): EnvoyObject | null {
  const vname = String(vh0.name);
  const firstRoute = ((vh0.routes ?? []) as EnvoyObject[])[0];
  const vconfig = (firstRoute && routeOrigin.get(firstRoute)) ?? fallbackConfig;
  let vh = fixHeaderMutations(vh0, undefined, vname, vconfig, report);
  const written = (vh.domains ?? []) as string[];
  // The written list is kept unless a duplicate shows up (the common case allocates nothing).
  let domains = written;
  for (let i = 0; i < written.length; i++) {
    const d = written[i]!;
    const key = UPPER.test(d) ? d.toLowerCase() : d;
    if (taken(key)) {
      report({ unit: vname, config: vconfig, reason: `duplicate domain "${d}"`, action: 'removed' });
      dups.push(key);
      if (domains === written) domains = written.slice(0, i);
      continue;
    }
    claim(key);
    if (domains !== written) domains.push(d);
  }
  // A virtual host whose content passed untouched before passes again (domains are still deduplicated
  // against the other hosts of this table above, which is why only a host keeping its domains qualifies).
  const untouched = vh === vh0 && domains === written;
  const key = untouched ? contentKey('vhost', vh0) : undefined;
  if (key !== undefined && passedBefore(key)) {
    passedHosts.add(vh0);
    return vh0;
  }
  if (domains.length === 0) {
    report({ unit: vname, config: vconfig, reason: 'virtual host has no domain left', action: 'removed' });
    return null;
  }
  const routes: EnvoyObject[] = [];
  for (const [i, r0] of ((vh.routes ?? []) as EnvoyObject[]).entries()) {
    const config = routeOrigin.get(r0) ?? vconfig;
    const unit = `${vname}/${String(r0.name ?? i)}`;
    const r = fixWeightedClusters(fixHeaderMutations(r0, r0, unit, config, report), unit, config, report);
    const problems = pgvViolations(T.route, r, 'route');
    const weights = weightProblem(r);
    if (weights) problems.unshift(weights);
    if (problems.length > 0) {
      report({ unit, config, reason: problems.join('; '), action: 'removed' });
      continue;
    }
    routes.push(r);
  }
  const original = (vh0.routes ?? []) as EnvoyObject[];
  const same =
    vh === vh0 &&
    domains.length === ((vh0.domains ?? []) as string[]).length &&
    routes.length === original.length &&
    routes.every((r, i) => r === original[i]);
  if (!same) vh = { ...vh, domains, routes };
  // Routes were checked one by one above: the virtual host's own fields only.
  const vproblems = virtualHostViolations(vh, 'virtual_host');
  if (vproblems.length > 0) {
    report({ unit: vname, config: vconfig, reason: vproblems.join('; '), action: 'removed' });
    return null;
  }
  if (key !== undefined && vh === vh0) {
    rememberPassed(key);
    passedHosts.add(vh0);
  }
  return vh;
}

/**
 * What checking one table's virtual hosts found, by position (only where something happened): kept for
 * as long as the hosts array lives, so the same array is not checked again and a table derived from it
 * (see `derivedHosts`) is checked by difference.
 */
interface TableCheck {
  input: readonly EnvoyObject[];
  fallbackConfig: string;
  /** Positions whose output is not the input host: its repaired form, or null when left out. */
  outAt: Map<number, EnvoyObject | null>;
  /** Positions with domains an earlier host had taken, and those domains (lowercased). */
  takenAt: Map<number, ReadonlySet<string>>;
  reportsAt: Map<number, ReportArgs[]>;
  output: readonly EnvoyObject[];
}

const checkedTables = new WeakMap<readonly EnvoyObject[], TableCheck>();

/**
 * A table's virtual hosts -> those of the table it was made from by replacing hosts (routes.ts). When only
 * hosts keeping their domains were replaced, what every other host claims is as before, so only the
 * replaced ones are checked (against the domains their position found taken last time).
 */
export const derivedHosts = new WeakMap<readonly EnvoyObject[], readonly EnvoyObject[]>();

function outputOf(
  input: readonly EnvoyObject[],
  outAt: Map<number, EnvoyObject | null>,
): readonly EnvoyObject[] {
  if (outAt.size === 0) return input;
  const out: EnvoyObject[] = [];
  input.forEach((vh, i) => {
    const o = outAt.has(i) ? outAt.get(i)! : vh;
    if (o) out.push(o);
  });
  return out;
}

function fullCheck(input: readonly EnvoyObject[], fallbackConfig: string): TableCheck {
  // The domains taken in this table, lowercased.
  const seen = new Set<string>();
  const taken = (d: string) => seen.has(d);
  const claim = (d: string) => void seen.add(d);
  const outAt = new Map<number, EnvoyObject | null>();
  const takenAt = new Map<number, ReadonlySet<string>>();
  const reportsAt = new Map<number, ReportArgs[]>();
  for (let i = 0; i < input.length; i++) {
    const vh0 = input[i]!;
    // A host object that passed untouched before (an interned one, see routes.ts) passes again unless one
    // of its domains is already taken in this table.
    if (passedHosts.has(vh0) && claimDomains(vh0, seen)) continue;
    const dups: string[] = [];
    const reports: ReportArgs[] = [];
    const vh = checkVirtualHost(vh0, taken, claim, fallbackConfig, (r) => reports.push(r), dups);
    if (dups.length > 0) takenAt.set(i, new Set(dups));
    if (reports.length > 0) reportsAt.set(i, reports);
    if (vh !== vh0) outAt.set(i, vh);
  }
  return { input, fallbackConfig, outAt, takenAt, reportsAt, output: outputOf(input, outAt) };
}

const sameDomains = (a: readonly string[], b: readonly string[]): boolean =>
  a === b || (a.length === b.length && a.every((d, i) => d === b[i]));

/** `input` checked from `base`'s findings; undefined when a host was added, removed or changed domains. */
function recheck(
  base: TableCheck,
  input: readonly EnvoyObject[],
  fallbackConfig: string,
): TableCheck | undefined {
  const prev = base.input;
  if (prev.length !== input.length || base.fallbackConfig !== fallbackConfig) return undefined;
  const changed: number[] = [];
  for (let i = 0; i < input.length; i++) {
    if (input[i] === prev[i]) continue;
    if (!sameDomains(lowered(input[i]!), lowered(prev[i]!))) return undefined;
    changed.push(i);
  }
  const outAt = new Map(base.outAt);
  const reportsAt = new Map(base.reportsAt);
  const claim = () => {};
  for (const i of changed) {
    const vh0 = input[i]!;
    const had = base.takenAt.get(i);
    const reports: ReportArgs[] = [];
    const vh = checkVirtualHost(
      vh0,
      (d) => had?.has(d) === true,
      claim,
      fallbackConfig,
      (r) => reports.push(r),
      [],
    );
    if (reports.length > 0) reportsAt.set(i, reports);
    else reportsAt.delete(i);
    if (vh !== vh0) outAt.set(i, vh);
    else outAt.delete(i);
  }
  return { input, fallbackConfig, outAt, takenAt: base.takenAt, reportsAt, output: outputOf(input, outAt) };
}

function checkRouteConfiguration(rc: EnvoyObject, fallbackConfig: string, report: Report): EnvoyObject {
  const input = (rc.virtual_hosts ?? []) as readonly EnvoyObject[];
  let check = checkedTables.get(input);
  if (check?.fallbackConfig !== fallbackConfig) {
    const base = derivedHosts.get(input);
    const baseCheck = base && checkedTables.get(base);
    check = (baseCheck && recheck(baseCheck, input, fallbackConfig)) ?? fullCheck(input, fallbackConfig);
    checkedTables.set(input, check);
    // One link back only: the base's own link is dropped, else every table ever derived would stay reachable.
    if (base) derivedHosts.delete(base);
  }
  for (const i of [...check.reportsAt.keys()].sort((a, b) => a - b))
    for (const r of check.reportsAt.get(i)!) report(r);
  return fixHeaderMutations(
    { ...rc, virtual_hosts: check.output },
    undefined,
    String(rc.name),
    fallbackConfig,
    report,
  );
}

function routerNotLast(listener: EnvoyObject): string | undefined {
  const chains = [...((listener.filter_chains ?? []) as EnvoyObject[])];
  if (listener.default_filter_chain) chains.push(listener.default_filter_chain as EnvoyObject);
  for (const c of chains) {
    for (const f of (c.filters ?? []) as EnvoyObject[]) {
      if (f.name !== HCM) continue;
      const filters = ((f.typed_config as EnvoyObject | undefined)?.http_filters ?? []) as EnvoyObject[];
      const i = filters.findIndex((h) => h.name === ROUTER);
      if (filters.length > 0 && i !== filters.length - 1)
        return `http filter ${ROUTER} must be the last filter (chain ${String(c.name ?? '')})`;
    }
  }
  return undefined;
}

/**
 * Checks `patched` (the resources after EnvoyFilter patches) and returns what may be sent: route
 * configurations repaired per route and virtual host; a cluster or listener that fails goes back to
 * its unpatched form from `generated` when that passes (the patch is left out), else is left out.
 * `patchers` names the EnvoyFilters applied to this proxy, for the report.
 */
export function enforceEnvoyRules(
  generated: ProxyResources,
  patched: ProxyResources,
  patchers: readonly string[],
  out: EnvoyRuleRejection[] = [],
): ProxyResources {
  const patchConfig = patchers.length > 0 ? patchers.join(', ') : 'generated';
  const whole = (
    type: 'cluster' | 'listener',
    list: EnvoyObject[],
    before: EnvoyObject[],
    typeName: string,
  ) => {
    const prior = new Map(before.map((r) => [String(r.name), r]));
    const kept: EnvoyObject[] = [];
    for (const r of list) {
      const name = String(r.name);
      const problems = (o: EnvoyObject) =>
        [...pgvViolations(typeName, o, type), type === 'listener' ? routerNotLast(o) : undefined].filter(
          (p) => p !== undefined,
        );
      const p = problems(r);
      if (p.length === 0) {
        kept.push(r);
        continue;
      }
      const orig = prior.get(name);
      const back = orig && orig !== r && problems(orig).length === 0 ? orig : undefined;
      out.push({
        type,
        resource: name,
        unit: name,
        config: patchConfig,
        reason: p.join('; '),
        action: back ? 'unpatched' : 'removed',
      });
      if (back) kept.push(back);
    }
    return kept;
  };
  const before = out.length;
  const routes = patched.routes.map((rc) => {
    const report: Report = (r) => out.push({ type: 'route', resource: String(rc.name), ...r });
    const pre = generated.routes.includes(rc) ? 'generated' : patchConfig;
    return checkRouteConfiguration(rc, pre, report);
  });
  // Untouched route configurations keep their identity (encodings are cached per object).
  const routesChanged = out.length > before;
  return {
    clusters: whole('cluster', patched.clusters, generated.clusters, T.cluster),
    endpoints: patched.endpoints,
    listeners: whole('listener', patched.listeners, generated.listeners, T.listener),
    routes: routesChanged ? routes : patched.routes,
  };
}

/**
 * Every Envoy-rules violation in `res` without repairing anything (for tests and the debug view):
 * PGV rules, the C++ checks, and with `deprecated` (Envoy proxies) any deprecated field.
 */
export function envoyRuleViolations(res: ProxyResources, deprecated = true): string[] {
  const out: string[] = [];
  for (const c of res.clusters)
    out.push(...pgvViolations(T.cluster, c, `cluster(${String(c.name)})`, deprecated));
  for (const l of res.listeners) {
    out.push(...pgvViolations(T.listener, l, `listener(${String(l.name)})`, deprecated));
    const r = routerNotLast(l);
    if (r) out.push(`listener(${String(l.name)}): ${r}`);
  }
  for (const rc of res.routes) {
    const where = `route(${String(rc.name)})`;
    out.push(...pgvViolations(T.rc, rc, where, deprecated));
    const report: Report = (x) => out.push(`${where} ${x.unit}: ${x.reason}`);
    checkRouteConfiguration(rc, '', report);
  }
  return [...new Set(out)];
}
