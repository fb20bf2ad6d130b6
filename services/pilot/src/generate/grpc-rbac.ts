// The Envoy HTTP RBAC filter (rbac.ts) narrowed to what gRPC's xDS server RBAC enforces. Pure.
//
// gRPC (C-core) evaluates principals by `principal_name` (the peer's SPIFFE id, mTLS only),
// `source_ip`/`remote_ip`, headers in the older HeaderMatcher forms (it NACKs `string_match`),
// `url_path`, destination ip/port and and/or/not/any. A policy with any part gRPC cannot enforce
// (JWT claims through metadata, SNI, case-insensitive matches) never matches: it grants nothing
// rather than being dropped with its constraints (the proxy-based RBAC would have enforced them).
import { typed } from '@keel/proto';
import { FilterNames } from '../model/names.js';
import { HTTP_RBAC_TYPE } from './rbac.js';
import type { EnvoyObject } from './route-spec.js';

type Obj = Record<string, any>;

/** Marks a subtree as unenforceable by gRPC. */
class Unsupported extends Error {}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Envoy StringMatcher -> the legacy HeaderMatcher field C-core reads. */
function headerFromStringMatch(name: string, m: Obj, invert: boolean): EnvoyObject {
  if (m.ignore_case) throw new Unsupported('ignore_case');
  const base: EnvoyObject = { name, ...(invert ? { invert_match: true } : {}) };
  if (m.exact !== undefined) return { ...base, exact_match: m.exact };
  // C-core's RBAC header matchers are measured with exact, safe_regex and present: prefix, suffix
  // and contains are written as the equivalent anchored regex.
  if (m.prefix !== undefined) return { ...base, safe_regex_match: { regex: `${escapeRegex(m.prefix)}.*` } };
  if (m.suffix !== undefined) return { ...base, safe_regex_match: { regex: `.*${escapeRegex(m.suffix)}` } };
  if (m.contains !== undefined)
    return { ...base, safe_regex_match: { regex: `.*${escapeRegex(m.contains)}.*` } };
  if (m.safe_regex !== undefined) return { ...base, safe_regex_match: { regex: m.safe_regex.regex } };
  throw new Unsupported('string matcher');
}

/** A `header` rule -> gRPC form: `:path` becomes `url_path`, `string_match` becomes the legacy fields. */
function headerRule(h: Obj): EnvoyObject {
  const name = String(h.name);
  if (h.string_match) {
    if (name === ':path' && !h.invert_match) return { url_path: { path: h.string_match } };
    return { header: headerFromStringMatch(name, h.string_match, !!h.invert_match) };
  }
  if (h.present_match !== undefined || h.exact_match !== undefined || h.safe_regex_match !== undefined)
    return { header: h };
  throw new Unsupported('header matcher');
}

function permission(p: Obj): EnvoyObject {
  if (p.any) return { any: true };
  if (p.and_rules) return { and_rules: { rules: (p.and_rules.rules as Obj[]).map(permission) } };
  if (p.or_rules) return { or_rules: { rules: (p.or_rules.rules as Obj[]).map(permission) } };
  if (p.not_rule) return { not_rule: permission(p.not_rule) };
  if (p.header) return headerRule(p.header);
  if (p.url_path) return p;
  if (p.destination_port !== undefined || p.destination_ip) return p;
  throw new Unsupported(Object.keys(p).join(','));
}

function principal(p: Obj): EnvoyObject {
  if (p.any) return { any: true };
  if (p.and_ids) return { and_ids: { ids: (p.and_ids.ids as Obj[]).map(principal) } };
  if (p.or_ids) return { or_ids: { ids: (p.or_ids.ids as Obj[]).map(principal) } };
  if (p.not_id) return { not_id: principal(p.not_id) };
  // `authenticated: {}` without a name matches plaintext callers in C-core: never send it.
  if (p.authenticated) {
    if (!p.authenticated.principal_name) throw new Unsupported('authenticated without principal_name');
    if (p.authenticated.principal_name.ignore_case) throw new Unsupported('ignore_case');
    return p;
  }
  if (p.direct_remote_ip) return { source_ip: p.direct_remote_ip };
  if (p.source_ip || p.remote_ip) return p;
  if (p.header) return headerRule(p.header);
  throw new Unsupported(Object.keys(p).join(','));
}

/** A permission nothing matches: an unenforceable policy grants nothing. */
const NEVER: EnvoyObject = { not_rule: { any: true } };

/** One RBAC policy in gRPC form, or a never-matching one (counted in `denied`). */
export function grpcRbacPolicy(policy: Obj, denied?: string[], name = ''): EnvoyObject {
  try {
    return {
      permissions: (policy.permissions as Obj[]).map(permission),
      principals: (policy.principals as Obj[]).map(principal),
    };
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    denied?.push(`${name}: ${e.message}`);
    return { permissions: [NEVER], principals: [{ any: true }] };
  }
}

/**
 * The HTTP RBAC filter (as rbac.ts builds it) for a gRPC server. `shadow_rules` (ClusterRbacConfig
 * enforcementMode PERMISSIVE) are not evaluated by gRPC; they stay out, as they only log in Envoy.
 */
export function grpcRbacFilter(filter: EnvoyObject | undefined, denied?: string[]): EnvoyObject | undefined {
  const body = filter?.typed_config as Obj | undefined;
  const rules = body?.rules as Obj | undefined;
  if (!rules) return undefined;
  const policies: Record<string, EnvoyObject> = {};
  for (const [name, p] of Object.entries((rules.policies ?? {}) as Record<string, Obj>))
    policies[name] = grpcRbacPolicy(p, denied, name);
  return {
    name: FilterNames.httpRbac,
    typed_config: typed(HTTP_RBAC_TYPE, { rules: { action: rules.action ?? 'ALLOW', policies } }),
  };
}
