// VirtualService HTTPMatchRequest -> envoy.config.route.v3.RouteMatch (Istio 1.4 translateRouteMatch).
import type { PushContext } from '../model/types.js';
import {
  type EnvoyObject,
  type HttpMatchRequest,
  resolveGatewayName,
  type StringMatch,
} from './route-spec.js';

/** StringMatch -> envoy.type.matcher.v3.StringMatcher; undefined for an empty match. */
export function stringMatcher(m: StringMatch | undefined): EnvoyObject | undefined {
  if (!m) return undefined;
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.regex !== undefined) return { safe_regex: { regex: m.regex } };
  return undefined;
}

/** Header match: v3 `string_match` replaces v2 exact_match/prefix_match/regex_match; empty match = present. */
export function headerMatcher(name: string, m: StringMatch): EnvoyObject {
  const sm = stringMatcher(m);
  return sm ? { name, string_match: sm } : { name, present_match: true };
}

/** Query parameter match (v3 QueryParameterMatcher.string_match); empty match = present. */
export function queryParamMatcher(name: string, m: StringMatch): EnvoyObject {
  const sm = stringMatcher(m);
  return sm ? { name, string_match: sm } : { name, present_match: true };
}

function pathSpecifier(uri: StringMatch | undefined): EnvoyObject {
  if (uri?.exact !== undefined) return { path: uri.exact };
  if (uri?.prefix !== undefined) return { prefix: uri.prefix };
  if (uri?.regex !== undefined) return { safe_regex: { regex: uri.regex } };
  return { prefix: '/' };
}

/**
 * RouteMatch for one match block (undefined block = catch-all `prefix /`). Headers sorted by name,
 * then `:method`, `:authority`, `:scheme` pseudo-headers in that order; query params sorted by name.
 */
export function translateRouteMatch(match: HttpMatchRequest | undefined): EnvoyObject {
  const out: EnvoyObject = pathSpecifier(match?.uri);
  if (!match) return out;
  const headers = Object.keys(match.headers ?? {})
    .sort()
    .map((name) => headerMatcher(name, match.headers![name]!));
  if (match.method) headers.push(headerMatcher(':method', match.method));
  if (match.authority) headers.push(headerMatcher(':authority', match.authority));
  if (match.scheme) headers.push(headerMatcher(':scheme', match.scheme));
  if (headers.length > 0) out.headers = headers;
  const params = Object.keys(match.queryParams ?? {})
    .sort()
    .map((name) => queryParamMatcher(name, match.queryParams![name]!));
  if (params.length > 0) out.query_parameters = params;
  return out;
}

/** True when every label of `selector` is on `labels` (empty selector matches all). */
export function labelsSubset(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

const selectorCache = new WeakMap<PushContext, Array<Record<string, string>>>();

/** Every distinct `sourceLabels` selector of the push's VirtualServices, in a fixed order. */
function sourceSelectors(push: PushContext): Array<Record<string, string>> {
  let found = selectorCache.get(push);
  if (found) return found;
  const seen = new Map<string, Record<string, string>>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) visit(x);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'sourceLabels' && x && typeof x === 'object') {
          const sel = x as Record<string, string>;
          seen.set(JSON.stringify(Object.entries(sel).sort()), sel);
        } else visit(x);
      }
    }
  };
  for (const vs of push.configs('VirtualService')) visit(vs.spec);
  found = [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, sel]) => sel);
  selectorCache.set(push, found);
  return found;
}

/**
 * Which of the push's VirtualService `sourceLabels` selectors `labels` match ('1' or '0' each): all that
 * outbound routes and listeners read of a proxy's labels, so proxies with equal keys get equal outbound config.
 */
export function sourceLabelsKey(push: PushContext, labels: Record<string, string>): string {
  return sourceSelectors(push)
    .map((sel) => (labelsSubset(sel, labels) ? '1' : '0'))
    .join('');
}

/**
 * Static predicates of a match (Istio sourceMatchHTTP + port): match.gateways name one of `gateways`
 * (resolved against the VS namespace), else sourceLabels are a subset of the proxy labels; and
 * match.port, when set, equals the listener port.
 */
export function matchApplies(
  match: { gateways?: string[]; sourceLabels?: Record<string, string>; port?: number } | undefined,
  ctx: { gateways: ReadonlySet<string>; proxyLabels: Record<string, string>; port: number },
  vsNamespace: string,
): boolean {
  if (!match) return true;
  if (match.port && match.port !== ctx.port) return false;
  if (match.gateways && match.gateways.length > 0) {
    return match.gateways.some((g) => ctx.gateways.has(resolveGatewayName(g, vsNamespace)));
  }
  return labelsSubset(match.sourceLabels, ctx.proxyLabels);
}
