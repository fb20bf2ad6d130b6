// Route matches in the form each proxyless gRPC client accepts (model/client.ts). Pure.
import type { ClientProfile, Degradation } from '../model/client.js';
import type { EnvoyObject } from './route-spec.js';

const LEGACY: Record<string, string> = {
  exact: 'exact_match',
  prefix: 'prefix_match',
  suffix: 'suffix_match',
  safe_regex: 'safe_regex_match',
};

const escapeRe2 = (s: string) => s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

/** StringMatcher -> an equivalent one without `contains` and `ignore_case` (as a RE2 regex). */
function plainStringMatcher(sm: EnvoyObject): EnvoyObject {
  if (sm.contains === undefined && !sm.ignore_case) return sm;
  const flag = sm.ignore_case ? '(?i)' : '';
  let body: string;
  if (sm.exact !== undefined) body = `${escapeRe2(String(sm.exact))}`;
  else if (sm.prefix !== undefined) body = `${escapeRe2(String(sm.prefix))}.*`;
  else if (sm.suffix !== undefined) body = `.*${escapeRe2(String(sm.suffix))}`;
  else if (sm.contains !== undefined) body = `.*${escapeRe2(String(sm.contains))}.*`;
  else return sm;
  return { safe_regex: { regex: `${flag}${body}` } };
}

/**
 * HeaderMatcher in the client's form: grpc-js keeps `string_match` (minus `contains`, which it
 * NACKs); C-core and other gRPC clients get the legacy `exact_match`/`prefix_match`/
 * `suffix_match`/`safe_regex_match` fields (C-core NACKs every `string_match`).
 */
export function headerMatcherFor(h: EnvoyObject, client: ClientProfile): EnvoyObject {
  const sm = h.string_match as EnvoyObject | undefined;
  if (!sm || client.kind === 'envoy') return h;
  const plain = plainStringMatcher(sm);
  const { string_match: _drop, ...rest } = h;
  if (client.headerMatch === 'string_match') return { ...rest, string_match: plain };
  const [key, value] = Object.entries(plain)[0] ?? [];
  if (!key || !LEGACY[key]) return h;
  return { ...rest, [LEGACY[key]]: value };
}

/**
 * The route as the client accepts it, or undefined when it can never match a gRPC call: gRPC
 * requests have no query string, so a route that requires query parameters is left out (grpc-js
 * would ignore the matcher and match every call; C-core skips such routes).
 */
export function routeForClient(
  route: EnvoyObject,
  client: ClientProfile,
  degrade: (d: Pick<Degradation, 'feature' | 'servedAs'>) => void,
): EnvoyObject | undefined {
  const match = route.match as EnvoyObject | undefined;
  if (!match || client.kind === 'envoy') return route;
  const params = match.query_parameters as EnvoyObject[] | undefined;
  if (params && params.length > 0) {
    // A fixed feature name: route names would make the metric's label set unbounded.
    degrade({ feature: 'match queryParams', servedAs: 'route left out' });
    return undefined;
  }
  const headers = match.headers as EnvoyObject[] | undefined;
  if (!headers || headers.length === 0) return route;
  return { ...route, match: { ...match, headers: headers.map((h) => headerMatcherFor(h, client)) } };
}
