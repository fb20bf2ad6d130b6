// Istio RBAC (ClusterRbacConfig, ServiceRole/Binding, AuthorizationPolicy v1beta1) -> Envoy RBAC filters, inbound only. Pure.
import { typed } from '@keel/proto';
import { FilterNames } from '../model/names.js';
import type { ConfigEntry, Proxy as MeshProxy, PushContext, Service, ServicePort } from '../model/types.js';
import type { EnvoyObject } from './route-spec.js';

export const HTTP_RBAC_TYPE = 'envoy.extensions.filters.http.rbac.v3.RBAC';
export const NETWORK_RBAC_TYPE = 'envoy.extensions.filters.network.rbac.v3.RBAC';

type Obj = Record<string, any>;
/** A permission/principal, or undefined when the source has an HTTP-only part on a TCP chain (drop it). */
type Maybe = EnvoyObject | undefined;

/** ClusterRbacConfig `default`, else the deprecated RbacConfig `default`. */
export function rbacConfig(push: PushContext): ConfigEntry | undefined {
  return (
    push.configs('ClusterRbacConfig').find((c) => c.name === 'default') ??
    push.configs('RbacConfig').find((c) => c.name === 'default')
  );
}

function listed(target: Obj | undefined, service: Service): boolean {
  return (
    ((target?.services ?? []) as string[]).includes(service.hostname) ||
    ((target?.namespaces ?? []) as string[]).includes(service.namespace)
  );
}

/** True when the RBAC mode turns enforcement on for this service. */
export function rbacEnabledFor(cfg: ConfigEntry | undefined, service: Service): boolean {
  switch (cfg?.spec.mode) {
    case 'ON':
      return true;
    case 'ON_WITH_INCLUSION':
      return listed(cfg.spec.inclusion, service);
    case 'ON_WITH_EXCLUSION':
      return !listed(cfg.spec.exclusion, service);
    default:
      return false;
  }
}

/** Istio value syntax: `*` any, `pre*` prefix, `*suf` suffix, else exact -> StringMatcher. */
export function stringMatcher(v: string): EnvoyObject {
  if (v === '*') return { safe_regex: { regex: '.*' } };
  if (v.endsWith('*')) return { prefix: v.slice(0, -1) };
  if (v.startsWith('*')) return { suffix: v.slice(1) };
  return { exact: v };
}

function header(name: string, v: string): EnvoyObject {
  return v === '*'
    ? { header: { name, present_match: true } }
    : { header: { name, string_match: stringMatcher(v) } };
}

/** `10.0.0.0/8` or a bare address -> CidrRange. */
export function cidr(v: string): EnvoyObject {
  const [ip, len] = v.split('/');
  return {
    address_prefix: ip,
    prefix_len: { value: len !== undefined ? Number(len) : ip!.includes(':') ? 128 : 32 },
  };
}

const orP = (rules: EnvoyObject[]): EnvoyObject => (rules.length === 1 ? rules[0]! : { or_rules: { rules } });
const orI = (ids: EnvoyObject[]): EnvoyObject => (ids.length === 1 ? ids[0]! : { or_ids: { ids } });
const list = (o: Obj, camel: string, snake: string): string[] => (o[camel] ?? o[snake] ?? []) as string[];

/** Principal name matcher for a user/principal value; `cluster.local/ns/x/sa/y` gets the spiffe:// scheme. */
function principalName(v: string): EnvoyObject {
  if (v === '*') return { any: true };
  const value = v.startsWith('spiffe://') || v.startsWith('*') ? v : `spiffe://${v}`;
  return { authenticated: { principal_name: stringMatcher(value) } };
}

function namespacePrincipal(ns: string): EnvoyObject {
  return {
    authenticated: {
      principal_name: { safe_regex: { regex: `.*/ns/${ns.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/.*` } },
    },
  };
}

interface Part {
  pos: string[];
  neg: string[];
  fn: (v: string) => EnvoyObject;
  httpOnly: boolean;
}

/** AND of (any of pos) and not(any of neg) per part; undefined when TCP meets an HTTP-only part. */
function combine(parts: Part[], tcp: boolean, extra: EnvoyObject[], kind: 'perm' | 'id'): Maybe {
  const all: EnvoyObject[] = [...extra];
  for (const p of parts) {
    if ((p.pos.length > 0 || p.neg.length > 0) && p.httpOnly && tcp) return undefined;
    const or = kind === 'perm' ? orP : orI;
    if (p.pos.length > 0) all.push(or(p.pos.map(p.fn)));
    if (p.neg.length > 0)
      all.push(kind === 'perm' ? { not_rule: or(p.neg.map(p.fn)) } : { not_id: or(p.neg.map(p.fn)) });
  }
  if (all.length === 0) return { any: true };
  if (all.length === 1) return all[0];
  return kind === 'perm' ? { and_rules: { rules: all } } : { and_ids: { ids: all } };
}

const portPerm = (v: string): EnvoyObject => ({ destination_port: Number(v) });

/** Static constraint/condition keys evaluated against the proxy; true/false, or undefined when dynamic. */
function staticKey(key: string, values: string[], proxy: MeshProxy, service: Service): boolean | undefined {
  const m = /^destination\.labels\[(.+)\]$/.exec(key);
  if (m) return values.includes(proxy.labels[m[1]!] ?? '');
  if (key === 'destination.name')
    return values.includes(proxy.workload?.name ?? proxy.id.split('.')[0] ?? '');
  if (key === 'destination.namespace') return values.includes(service.namespace);
  if (key === 'destination.user')
    return values.includes(proxy.workload?.serviceAccount ?? proxy.metadata.SERVICE_ACCOUNT ?? '');
  return undefined;
}

/** A ServiceRole rule -> Permission; undefined when dropped (statically false, or HTTP-only on TCP). */
function rolePermission(rule: Obj, proxy: MeshProxy, service: Service, tcp: boolean): Maybe {
  const extra: EnvoyObject[] = [];
  for (const c of (rule.constraints ?? []) as Array<{ key: string; values?: string[] }>) {
    const values = c.values ?? [];
    const st = staticKey(c.key, values, proxy, service);
    if (st === false) return undefined;
    if (st === true) continue;
    const h = /^request\.headers\[(.+)\]$/.exec(c.key);
    if (c.key === 'destination.ip') extra.push(orP(values.map((v) => ({ destination_ip: cidr(v) }))));
    else if (c.key === 'destination.port') extra.push(orP(values.map(portPerm)));
    else if (h) {
      if (tcp) return undefined;
      extra.push(orP(values.map((v) => header(h[1]!, v))));
    } else return undefined;
  }
  return combine(
    [
      {
        pos: list(rule, 'hosts', 'hosts'),
        neg: list(rule, 'notHosts', 'not_hosts'),
        fn: (v) => header(':authority', v),
        httpOnly: true,
      },
      {
        pos: list(rule, 'paths', 'paths'),
        neg: list(rule, 'notPaths', 'not_paths'),
        fn: (v) => header(':path', v),
        httpOnly: true,
      },
      {
        pos: list(rule, 'methods', 'methods'),
        neg: list(rule, 'notMethods', 'not_methods'),
        fn: (v) => header(':method', v),
        httpOnly: true,
      },
      {
        pos: (rule.ports ?? []).map(String),
        neg: (rule.notPorts ?? rule.not_ports ?? []).map(String),
        fn: portPerm,
        httpOnly: false,
      },
    ],
    tcp,
    extra,
    'perm',
  );
}

/** A property/condition key on the source side -> principal builder; undefined when unsupported. */
function sourceKey(key: string, tcp: boolean): ((v: string) => EnvoyObject) | undefined {
  if (key === 'source.ip') return (v) => ({ direct_remote_ip: cidr(v) });
  if (key === 'source.namespace') return namespacePrincipal;
  if (key === 'source.principal' || key === 'source.user') return principalName;
  const h = /^request\.headers\[(.+)\]$/.exec(key);
  if (h && !tcp) return (v) => header(h[1]!, v);
  return undefined;
}

/** A ServiceRoleBinding subject -> Principal; undefined for unsupported parts (groups, request.auth.*). */
function subjectPrincipal(s: Obj, tcp: boolean): Maybe {
  if (list(s, 'groups', 'groups').length > 0 || list(s, 'notGroups', 'not_groups').length > 0)
    return undefined;
  const extra: EnvoyObject[] = [];
  if (s.user) extra.push(principalName(String(s.user)));
  for (const [key, value] of Object.entries((s.properties ?? {}) as Record<string, string>)) {
    const fn = sourceKey(key, tcp);
    if (!fn) return undefined;
    extra.push(fn(value));
  }
  return combine(
    [
      {
        pos: list(s, 'names', 'names'),
        neg: list(s, 'notNames', 'not_names'),
        fn: principalName,
        httpOnly: false,
      },
      {
        pos: list(s, 'namespaces', 'namespaces'),
        neg: list(s, 'notNamespaces', 'not_namespaces'),
        fn: namespacePrincipal,
        httpOnly: false,
      },
      {
        pos: list(s, 'ips', 'ips'),
        neg: list(s, 'notIps', 'not_ips'),
        fn: (v) => ({ direct_remote_ip: cidr(v) }),
        httpOnly: false,
      },
    ],
    tcp,
    extra,
    'id',
  );
}

function serviceMatches(pattern: string, service: Service): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return service.hostname.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return service.hostname.endsWith(pattern.slice(1));
  return pattern === service.hostname;
}

/** v1 policies: one per ServiceRole of the service's namespace with matching rules and bound subjects. */
export function serviceRolePolicies(
  push: PushContext,
  proxy: MeshProxy,
  service: Service,
  tcp: boolean,
): Record<string, EnvoyObject> {
  const out: Record<string, EnvoyObject> = {};
  const bindings = push.configs('ServiceRoleBinding').filter((b) => b.namespace === service.namespace);
  for (const role of push.configs('ServiceRole').filter((r) => r.namespace === service.namespace)) {
    const rules = ((role.spec.rules ?? []) as Obj[]).filter((r) =>
      ((r.services ?? []) as string[]).some((p) => serviceMatches(p, service)),
    );
    const permissions = rules
      .map((r) => rolePermission(r, proxy, service, tcp))
      .filter((p): p is EnvoyObject => !!p);
    const principals = bindings
      .filter((b) => (b.spec.roleRef?.name ?? b.spec.role) === role.name)
      .flatMap((b) => (b.spec.subjects ?? []) as Obj[])
      .map((s) => subjectPrincipal(s, tcp))
      .filter((p): p is EnvoyObject => !!p);
    if (permissions.length > 0 && principals.length > 0) out[role.name] = { permissions, principals };
  }
  return out;
}

function selects(policy: ConfigEntry, proxy: MeshProxy): boolean {
  const labels = policy.spec.selector?.matchLabels as Record<string, string> | undefined;
  return !labels || Object.entries(labels).every(([k, v]) => proxy.labels[k] === v);
}

/** AuthorizationPolicy v1beta1 objects for the proxy: its namespace and the root namespace, selector matching. */
export function authorizationPoliciesFor(push: PushContext, proxy: MeshProxy): ConfigEntry[] {
  return push
    .configs('AuthorizationPolicy')
    .filter(
      (p) =>
        (p.namespace === proxy.namespace || p.namespace === push.mesh.rootNamespace) && selects(p, proxy),
    );
}

function operationPermission(op: Obj, tcp: boolean, extra: EnvoyObject[]): Maybe {
  return combine(
    [
      { pos: list(op, 'hosts', 'hosts'), neg: [], fn: (v) => header(':authority', v), httpOnly: true },
      { pos: (op.ports ?? []).map(String), neg: [], fn: portPerm, httpOnly: false },
      { pos: list(op, 'methods', 'methods'), neg: [], fn: (v) => header(':method', v), httpOnly: true },
      { pos: list(op, 'paths', 'paths'), neg: [], fn: (v) => header(':path', v), httpOnly: true },
    ],
    tcp,
    extra,
    'perm',
  );
}

function sourcePrincipal(src: Obj, tcp: boolean, extra: EnvoyObject[]): Maybe {
  if (list(src, 'requestPrincipals', 'request_principals').length > 0) return undefined;
  return combine(
    [
      { pos: list(src, 'principals', 'principals'), neg: [], fn: principalName, httpOnly: false },
      { pos: list(src, 'namespaces', 'namespaces'), neg: [], fn: namespacePrincipal, httpOnly: false },
      {
        pos: list(src, 'ipBlocks', 'ip_blocks'),
        neg: [],
        fn: (v) => ({ direct_remote_ip: cidr(v) }),
        httpOnly: false,
      },
    ],
    tcp,
    extra,
    'id',
  );
}

/** One rule of an AuthorizationPolicy -> Policy; undefined when it cannot be expressed (dropped: deny). */
function authzRulePolicy(rule: Obj, tcp: boolean): EnvoyObject | undefined {
  const permExtra: EnvoyObject[] = [];
  const idExtra: EnvoyObject[] = [];
  for (const w of (rule.when ?? []) as Array<{ key: string; values?: string[] }>) {
    const values = w.values ?? [];
    if (w.key === 'destination.ip') permExtra.push(orP(values.map((v) => ({ destination_ip: cidr(v) }))));
    else if (w.key === 'destination.port') permExtra.push(orP(values.map(portPerm)));
    else {
      const fn = sourceKey(w.key, tcp);
      if (!fn) return undefined;
      idExtra.push(orI(values.map(fn)));
    }
  }
  const tos = ((rule.to ?? []) as Obj[]).map((t) => operationPermission(t.operation ?? {}, tcp, permExtra));
  const froms = ((rule.from ?? []) as Obj[]).map((f) => sourcePrincipal(f.source ?? {}, tcp, idExtra));
  const permissions =
    tos.length > 0 ? tos.filter((p): p is EnvoyObject => !!p) : [combine([], tcp, permExtra, 'perm')!];
  const principals =
    froms.length > 0 ? froms.filter((p): p is EnvoyObject => !!p) : [combine([], tcp, idExtra, 'id')!];
  if (permissions.length === 0 || principals.length === 0) return undefined;
  return { permissions, principals };
}

/** v1beta1 policies named `ns[<ns>]-policy[<name>]-rule[<i>]`. */
export function authorizationPolicyPolicies(
  policies: readonly ConfigEntry[],
  tcp: boolean,
): Record<string, EnvoyObject> {
  const out: Record<string, EnvoyObject> = {};
  for (const ap of policies) {
    ((ap.spec.rules ?? []) as Obj[]).forEach((rule, i) => {
      const p = authzRulePolicy(rule, tcp);
      if (p) out[`ns[${ap.namespace}]-policy[${ap.name}]-rule[${i}]`] = p;
    });
  }
  return out;
}

function rbacBody(
  push: PushContext,
  proxy: MeshProxy,
  service: Service,
  tcp: boolean,
): EnvoyObject | undefined {
  const cfg = rbacConfig(push);
  const v1 = rbacEnabledFor(cfg, service);
  const aps = authorizationPoliciesFor(push, proxy);
  if (!v1 && aps.length === 0) return undefined;
  const policies = {
    ...(v1 ? serviceRolePolicies(push, proxy, service, tcp) : {}),
    ...authorizationPolicyPolicies(aps, tcp),
  };
  const rules = { action: 'ALLOW', policies };
  const permissive = v1 && (cfg?.spec.enforcementMode ?? cfg?.spec.enforcement_mode) === 'PERMISSIVE';
  return permissive ? { shadow_rules: rules } : { rules };
}

/** envoy.filters.http.rbac for an inbound HTTP service port, or undefined when RBAC is off for it. */
export function httpRbacFilter(
  push: PushContext,
  proxy: MeshProxy,
  service: Service,
  _port: ServicePort,
): EnvoyObject | undefined {
  const body = rbacBody(push, proxy, service, false);
  return body ? { name: FilterNames.httpRbac, typed_config: typed(HTTP_RBAC_TYPE, body) } : undefined;
}

/** envoy.filters.network.rbac for an inbound TCP service port (HTTP-only rules dropped). */
export function networkRbacFilter(
  push: PushContext,
  proxy: MeshProxy,
  service: Service,
  _port: ServicePort,
): EnvoyObject | undefined {
  const body = rbacBody(push, proxy, service, true);
  return body
    ? {
        name: FilterNames.networkRbac,
        typed_config: typed(NETWORK_RBAC_TYPE, { ...body, stat_prefix: 'tcp.' }),
      }
    : undefined;
}
