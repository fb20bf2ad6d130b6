// Pieces of an Envoy v3 route built from one VirtualService HTTPRoute (Istio 1.4 route.go / retry.go).

import { typed } from '@keel/proto';
import { protoDurationOf } from '@keel/runtime';
import { buildSubsetKey, parseSubsetKey } from '../model/names.js';
import type { Service } from '../model/types.js';
import { stringMatcher } from './route-match.js';
import type {
  CorsPolicy,
  Destination,
  EnvoyObject,
  HeaderOperations,
  HttpFault,
  HttpRetry,
} from './route-spec.js';

export const FAULT_TYPE = 'envoy.extensions.filters.http.fault.v3.HTTPFault';
export const CORS_POLICY_TYPE = 'envoy.extensions.filters.http.cors.v3.CorsPolicy';
export const PREVIOUS_HOSTS_PREDICATE = 'envoy.retry_host_predicates.previous_hosts';
export const DEFAULT_RETRY_ON =
  'connect-failure,refused-stream,unavailable,cancelled,resource-exhausted,retriable-status-codes';

/**
 * `outbound|<port>|<subset>|<host>`: the destination port, else the only port of the service, else
 * the listener port (Istio GetDestinationCluster).
 */
export function destinationCluster(
  dest: Destination,
  service: Service | undefined,
  listenerPort: number,
): string {
  let port = listenerPort;
  if (dest.port?.number) port = dest.port.number;
  else if (service && service.ports.length === 1) port = service.ports[0]!.port;
  return buildSubsetKey('outbound', port, dest.subset ?? '', dest.host);
}

/** Retry host predicate avoiding hosts already tried. */
function previousHostsPredicate(): EnvoyObject {
  return {
    name: PREVIOUS_HOSTS_PREDICATE,
    typed_config: typed('envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate', {}),
  };
}

/** Istio's default retry policy (route/retry/retry.go DefaultPolicy). */
export function defaultRetryPolicy(): EnvoyObject {
  return {
    retry_on: DEFAULT_RETRY_ON,
    num_retries: { value: 2 },
    retry_host_predicate: [previousHostsPredicate()],
    host_selection_retry_max_attempts: 5,
    retriable_status_codes: [503],
  };
}

/** Splits retryOn into Envoy conditions and HTTP status codes (integers). */
function parseRetryOn(retryOn: string): { on: string[]; codes: number[] } {
  const on: string[] = [];
  const codes: number[] = [];
  for (const raw of retryOn.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const n = Number(part);
    if (/^\d+$/.test(part) && n >= 100 && n <= 599) codes.push(n);
    else on.push(part);
  }
  return { on, codes };
}

/** VS retries -> RetryPolicy: none given = default; attempts 0 = no policy; else overrides. */
export function retryPolicy(retries: HttpRetry | undefined): EnvoyObject | undefined {
  if (!retries) return defaultRetryPolicy();
  if (!retries.attempts || retries.attempts <= 0) return undefined;
  const out = defaultRetryPolicy();
  out.num_retries = { value: retries.attempts };
  if (retries.retryOn) {
    const { on, codes } = parseRetryOn(retries.retryOn);
    let retryOn = on.join(',');
    if (codes.length > 0 && !retryOn.includes('retriable-status-codes')) {
      retryOn = retryOn ? `${retryOn},retriable-status-codes` : 'retriable-status-codes';
    }
    out.retry_on = retryOn;
    out.retriable_status_codes = codes;
  }
  const perTry = protoDurationOf(retries.perTryTimeout);
  if (perTry) out.per_try_timeout = perTry;
  return out;
}

/** Istio percent (0..100, fractional) -> FractionalPercent per MILLION. */
export function fractionalPercent(value: number): EnvoyObject {
  return { numerator: Math.round(value * 10000), denominator: 'MILLION' };
}

function faultPercent(p: { percentage?: { value?: number }; percent?: number }): EnvoyObject {
  if (p.percentage) return fractionalPercent(p.percentage.value ?? 0);
  return fractionalPercent(p.percent ?? 0);
}

/** VS fault -> HTTPFault body; undefined when neither a fixed delay nor an HTTP abort results. */
export function translateFault(fault: HttpFault | undefined): EnvoyObject | undefined {
  if (!fault) return undefined;
  const out: EnvoyObject = {};
  const fixed = protoDurationOf(fault.delay?.fixedDelay);
  if (fault.delay && fixed) out.delay = { fixed_delay: fixed, percentage: faultPercent(fault.delay) };
  if (fault.abort?.httpStatus !== undefined) {
    out.abort = { http_status: fault.abort.httpStatus, percentage: faultPercent(fault.abort) };
  }
  return out.delay || out.abort ? out : undefined;
}

/** VS corsPolicy -> envoy.extensions.filters.http.cors.v3.CorsPolicy body (the v3 per-route form). */
export function translateCors(cors: CorsPolicy | undefined): EnvoyObject | undefined {
  if (!cors) return undefined;
  const out: EnvoyObject = {
    filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
  };
  if (cors.allowOrigin)
    out.allow_origin_string_match = cors.allowOrigin.map((o) => stringMatcher({ exact: o }));
  if (cors.allowMethods?.length) out.allow_methods = cors.allowMethods.join(',');
  if (cors.allowHeaders?.length) out.allow_headers = cors.allowHeaders.join(',');
  if (cors.exposeHeaders?.length) out.expose_headers = cors.exposeHeaders.join(',');
  const maxAge = protoDurationOf(cors.maxAge);
  if (maxAge) out.max_age = String(maxAge.seconds);
  if (cors.allowCredentials !== undefined) out.allow_credentials = { value: cors.allowCredentials };
  return out;
}

/** HeaderValueOptions: `set` overwrites, `add` appends (v3 append_action replaces the `append` bool). */
export function headersToAdd(ops: HeaderOperations | undefined): EnvoyObject[] {
  const out: EnvoyObject[] = [];
  const set = ops?.set ?? {};
  for (const key of Object.keys(set).sort()) {
    out.push({ header: { key, value: set[key] }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
  }
  const add = ops?.add ?? {};
  for (const key of Object.keys(add).sort()) {
    out.push({ header: { key, value: add[key] }, append_action: 'APPEND_IF_EXISTS_OR_ADD' });
  }
  return out;
}

/** Decorator operation: `host:port<path>` for a single subset-key cluster, else `<vsName>:<port><path>`. */
export function routeOperation(
  match: EnvoyObject,
  cluster: string | undefined,
  vsName: string,
  port: number,
): string {
  let path = '/*';
  if (typeof match.prefix === 'string') path = `${match.prefix}*`;
  else if (typeof match.path === 'string') path = match.path;
  else if (match.safe_regex) path = String((match.safe_regex as { regex: string }).regex);
  const key = cluster ? parseSubsetKey(cluster) : undefined;
  if (key) return `${key.host}:${key.port}${path}`;
  return `${vsName}:${port}${path}`;
}

/** Typed per-filter config map entries for fault and CORS (v3 keys are the filter names). */
export function perFilterConfig(
  fault: EnvoyObject | undefined,
  cors: EnvoyObject | undefined,
): EnvoyObject | undefined {
  const out: EnvoyObject = {};
  if (cors) out['envoy.filters.http.cors'] = typed(CORS_POLICY_TYPE, cors);
  if (fault) out['envoy.filters.http.fault'] = typed(FAULT_TYPE, fault);
  return Object.keys(out).length > 0 ? out : undefined;
}
