// VirtualService HTTP route -> Envoy v3 route (Istio 1.4 route.go translateRoute).
import { protoDurationOf } from '@keel/runtime';
import { AllowAnyVirtualHost, BlockAllVirtualHost, PassthroughCluster } from '../model/names.js';
import { resolveShortName } from '../model/push-context.js';
import type { ConfigEntry, Service } from '../model/types.js';
import { routeOrigin } from './envoy-rules.js';
import {
  defaultRetryPolicy,
  destinationCluster,
  headersToAdd,
  perFilterConfig,
  retryPolicy,
  routeOperation,
  translateCors,
  translateFault,
} from './route-action.js';
import { hashPolicy } from './route-hash.js';
import { matchApplies, translateRouteMatch } from './route-match.js';
import {
  type EnvoyObject,
  type HttpMatchRequest,
  type HttpRoute,
  type VirtualServiceSpec,
  ZERO_DURATION,
} from './route-spec.js';

export type RouteConfiguration = EnvoyObject;

/** What translating one VS route needs besides the VS: the proxy's view for one listener port. */
export interface RouteContext {
  /** Listener port the routes are for. */
  port: number;
  /** Gateways in force: `mesh` for sidecars, `ns/name` for routers. */
  gateways: ReadonlySet<string>;
  proxyLabels: Record<string, string>;
  /** DNS suffix for resolving short destination hosts (`cluster.local`). */
  domain: string;
  /** Service for a destination host as the caller sees it (port selection), if any. */
  serviceFor(host: string): Service | undefined;
  /** DestinationRule in force for a host (hash policy), if any. */
  destinationRule?(host: string): ConfigEntry | undefined;
}

export type VirtualService = ConfigEntry<VirtualServiceSpec>;

function clusterWeights(vs: VirtualService, http: HttpRoute, ctx: RouteContext): EnvoyObject[] {
  const dests = http.route ?? [];
  const out: EnvoyObject[] = [];
  for (const d of dests) {
    let weight = d.weight ?? 0;
    if (weight === 0) {
      if (dests.length !== 1) continue;
      weight = 100;
    }
    const host = resolveShortName(d.destination.host, vs.namespace, ctx.domain);
    const cw: EnvoyObject = {
      name: destinationCluster({ ...d.destination, host }, ctx.serviceFor(host), ctx.port),
      weight: { value: weight },
    };
    const reqAdd = headersToAdd(d.headers?.request);
    const respAdd = headersToAdd(d.headers?.response);
    if (reqAdd.length) cw.request_headers_to_add = reqAdd;
    if (d.headers?.request?.remove?.length) cw.request_headers_to_remove = [...d.headers.request.remove];
    if (respAdd.length) cw.response_headers_to_add = respAdd;
    if (d.headers?.response?.remove?.length) cw.response_headers_to_remove = [...d.headers.response.remove];
    out.push(cw);
  }
  return out;
}

function hashPolicies(vs: VirtualService, http: HttpRoute, ctx: RouteContext): EnvoyObject[] {
  const out: EnvoyObject[] = [];
  for (const d of http.route ?? []) {
    const host = resolveShortName(d.destination.host, vs.namespace, ctx.domain);
    const port = d.destination.port?.number ?? ctx.port;
    const hp = hashPolicy(ctx.destinationRule?.(host), d.destination.subset, port);
    if (hp) out.push(hp);
  }
  return out;
}

const REDIRECT_CODES: Record<number, string> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

function redirectAction(redirect: NonNullable<HttpRoute['redirect']>): EnvoyObject | undefined {
  const code = REDIRECT_CODES[redirect.redirectCode || 301];
  if (!code) return undefined;
  const out: EnvoyObject = { response_code: code };
  if (redirect.authority) out.host_redirect = redirect.authority;
  if (redirect.uri) out.path_redirect = redirect.uri;
  return out;
}

/** Moves a lone weighted cluster's header operations onto the route (Istio does the same). */
function hoistSingleCluster(route: EnvoyObject, cw: EnvoyObject): void {
  const pairs: Array<[string, string]> = [
    ['request_headers_to_add', 'request_headers_to_add'],
    ['request_headers_to_remove', 'request_headers_to_remove'],
    ['response_headers_to_add', 'response_headers_to_add'],
    ['response_headers_to_remove', 'response_headers_to_remove'],
  ];
  for (const [from, to] of pairs) {
    const v = cw[from] as unknown[] | undefined;
    if (v?.length) route[to] = [...((route[to] as unknown[]) ?? []), ...v];
  }
}

function routeAction(
  vs: VirtualService,
  http: HttpRoute,
  ctx: RouteContext,
  route: EnvoyObject,
): EnvoyObject {
  const timeout = protoDurationOf(http.timeout) ?? ZERO_DURATION;
  const action: EnvoyObject = {
    timeout,
    max_stream_duration: { grpc_timeout_header_max: timeout },
  };
  const retry = retryPolicy(http.retries);
  if (retry) action.retry_policy = retry;
  if (http.rewrite?.uri) action.prefix_rewrite = http.rewrite.uri;
  if (http.rewrite?.authority) action.host_rewrite_literal = http.rewrite.authority;
  if (http.mirror) {
    const host = resolveShortName(http.mirror.host, vs.namespace, ctx.domain);
    const mirror: EnvoyObject = {
      cluster: destinationCluster({ ...http.mirror, host }, ctx.serviceFor(host), ctx.port),
    };
    if (http.mirrorPercent !== undefined) {
      mirror.runtime_fraction = {
        default_value: { numerator: Math.round(http.mirrorPercent * 10000), denominator: 'MILLION' },
      };
    }
    action.request_mirror_policies = [mirror];
  }
  const weights = clusterWeights(vs, http, ctx);
  if (weights.length === 1) {
    action.cluster = weights[0]!.name;
    hoistSingleCluster(route, weights[0]!);
  } else {
    action.weighted_clusters = { clusters: weights };
  }
  const hp = hashPolicies(vs, http, ctx);
  if (hp.length) action.hash_policy = hp;
  return action;
}

function routeHeaders(http: HttpRoute, route: EnvoyObject): void {
  const reqAdd = headersToAdd(http.headers?.request);
  const respAdd = headersToAdd(http.headers?.response);
  if (reqAdd.length) route.request_headers_to_add = reqAdd;
  if (http.headers?.request?.remove?.length)
    route.request_headers_to_remove = [...http.headers.request.remove];
  if (respAdd.length) route.response_headers_to_add = respAdd;
  if (http.headers?.response?.remove?.length)
    route.response_headers_to_remove = [...http.headers.response.remove];
}

/**
 * One Envoy route for `http` under one of its match blocks (undefined = no match block), or
 * undefined when the match does not apply to this proxy/port or the redirect code is invalid.
 */
export function translateRoute(
  vs: VirtualService,
  http: HttpRoute,
  ctx: RouteContext,
  match?: HttpMatchRequest,
): EnvoyObject | undefined {
  if (!matchApplies(match, ctx, vs.namespace)) return undefined;
  const route: EnvoyObject = {};
  const name = [http.name, match?.name].filter((n) => n).join('.');
  if (name) route.name = name;
  route.match = translateRouteMatch(match);
  let cluster: string | undefined;
  if (http.redirect) {
    const redirect = redirectAction(http.redirect);
    if (!redirect) return undefined;
    route.redirect = redirect;
  } else {
    routeHeaders(http, route);
    const action = routeAction(vs, http, ctx, route);
    route.route = action;
    cluster = action.cluster as string | undefined;
  }
  route.decorator = { operation: routeOperation(route.match as EnvoyObject, cluster, vs.name, ctx.port) };
  const perFilter = perFilterConfig(
    translateFault(http.fault),
    http.redirect ? undefined : translateCors(http.corsPolicy),
  );
  if (perFilter) route.typed_per_filter_config = perFilter;
  routeOrigin.set(route, `VirtualService ${vs.namespace}/${vs.name}`);
  return route;
}

/** All routes of a VS for this context; a route without match blocks ends the list (Istio 1.4). */
export function buildHttpRoutes(vs: VirtualService, ctx: RouteContext): EnvoyObject[] {
  const out: EnvoyObject[] = [];
  for (const http of vs.spec.http ?? []) {
    if (!http.match || http.match.length === 0) {
      const r = translateRoute(vs, http, ctx);
      if (r) out.push(r);
      break;
    }
    for (const m of http.match) {
      const r = translateRoute(vs, http, ctx, m);
      if (r) out.push(r);
    }
  }
  return out;
}

/** The route Istio gives a service without VirtualService: `prefix /` named `default`. */
export function defaultRoute(cluster: string, operation: string): EnvoyObject {
  return {
    name: 'default',
    match: { prefix: '/' },
    route: {
      cluster,
      timeout: ZERO_DURATION,
      max_stream_duration: { grpc_timeout_header_max: ZERO_DURATION },
      retry_policy: defaultRetryPolicy(),
    },
    decorator: { operation },
  };
}

/** The last virtual host of a sidecar route config: passthrough (ALLOW_ANY) or 502 (REGISTRY_ONLY). */
export function fallthroughVirtualHost(allowAny: boolean): EnvoyObject {
  if (allowAny) {
    return {
      name: AllowAnyVirtualHost,
      domains: ['*'],
      routes: [{ name: AllowAnyVirtualHost, match: { prefix: '/' }, route: { cluster: PassthroughCluster } }],
    };
  }
  return {
    name: BlockAllVirtualHost,
    domains: ['*'],
    routes: [{ name: BlockAllVirtualHost, match: { prefix: '/' }, direct_response: { status: 502 } }],
  };
}

/** Empty route config for names no listener of this proxy serves. */
export function emptyRouteConfiguration(name: string): RouteConfiguration {
  return { name, virtual_hosts: [], validate_clusters: { value: false } };
}
