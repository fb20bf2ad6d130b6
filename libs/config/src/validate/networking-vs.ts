import {
  arr,
  at,
  type Errors,
  hostSubsetOf,
  hostsMatch,
  isDNS1123Label,
  isIPAddress,
  num,
  type Obj,
  obj,
  parseDuration,
  str,
  strs,
  validateDuration,
  validateExportTo,
  validateFQDN,
  validateHeaderName,
  validateIPSubnet,
  validateLabels,
  validatePercent,
  validatePercentage,
  validatePort,
  validateWildcardDomain,
} from './common.js';

const RETRY_ON = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);
// Codes Go's http.StatusText knows: a numeric retryOn entry must be one of them.
const HTTP_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307,
  308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421,
  422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE']);

/** Checks a normalized VirtualService spec. */
export function checkVirtualService(vs: Obj, e: Errors): void {
  const gateways = strs(vs.gateways);
  const appliesToMesh = gateways.length === 0 || gateways.includes('mesh');
  checkGatewayNames(gateways, 'gateways', e);
  const hosts = strs(vs.hosts);
  if (hosts.length === 0) e.add('hosts', 'virtual service must have at least one host');
  let allValid = true;
  hosts.forEach((h, i) => {
    const err = validateWildcardDomain(h);
    if (err && !isIPAddress(h)) {
      e.add(at('hosts', i), err);
      allValid = false;
    } else if (!err && appliesToMesh && h === '*') {
      e.add(at('hosts', i), 'wildcard host * is not allowed for virtual services bound to the mesh gateway');
      allValid = false;
    }
  });
  if (allValid) {
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i + 1; j < hosts.length; j++) {
        const [a, b] = [hosts[i] as string, hosts[j] as string];
        if (hostsMatch(a, b)) e.add(at('hosts', j), `duplicate hosts in virtual service: ${a} & ${b}`);
      }
    }
  }
  const http = arr(vs.http);
  const tcp = arr(vs.tcp);
  const tls = arr(vs.tls);
  if (http.length === 0 && tcp.length === 0 && tls.length === 0) {
    e.add(undefined, 'http, tcp or tls must be provided in virtual service');
  }
  http.forEach((r, i) => {
    checkHTTPRoute(obj(r) ?? {}, at('http', i), e);
  });
  tls.forEach((r, i) => {
    checkTLSRoute(obj(r) ?? {}, hosts, at('tls', i), e);
  });
  tcp.forEach((r, i) => {
    checkTCPRoute(obj(r) ?? {}, at('tcp', i), e);
  });
  e.add('exportTo', validateExportTo(vs.exportTo));
}

/** Gateway references: "name", "name.ns.svc..." (FQDN) or "namespace/name". */
export function checkGatewayNames(names: string[], path: string, e: Errors): void {
  names.forEach((name, i) => {
    const p = at(path, i);
    const slash = name.indexOf('/');
    if (slash < 0) {
      e.add(p, validateFQDN(name));
      return;
    }
    const [ns, gw] = [name.slice(0, slash), name.slice(slash + 1)];
    if (ns === '' || gw === '') e.add(p, 'config namespace and gateway name cannot be empty');
    if (!isDNS1123Label(ns)) e.add(p, `invalid value for namespace: "${ns}"`);
    if (!isDNS1123Label(gw)) e.add(p, `invalid value for gateway name: "${gw}"`);
  });
}

function checkHeaderNames(headers: unknown, path: string, e: Errors): void {
  for (const dir of ['request', 'response']) {
    const ops = obj(obj(headers)?.[dir]);
    if (!ops) continue;
    for (const op of ['set', 'add']) {
      for (const name of Object.keys(obj(ops[op]) ?? {}))
        e.add(at(at(at(path, dir), op), name), validateHeaderName(name));
    }
    strs(ops.remove).forEach((name, i) => {
      e.add(at(at(at(path, dir), 'remove'), i), validateHeaderName(name));
    });
  }
}

function checkDeprecatedHeaderOps(r: Obj, path: string, e: Errors): void {
  for (const f of ['appendHeaders', 'appendRequestHeaders', 'appendResponseHeaders']) {
    for (const name of Object.keys(obj(r[f]) ?? {})) e.add(at(path, f), validateHeaderName(name));
  }
  for (const f of ['removeRequestHeaders', 'removeResponseHeaders']) {
    for (const name of strs(r[f])) e.add(at(path, f), validateHeaderName(name));
  }
  checkHeaderNames(r.headers, at(path, 'headers'), e);
}

function checkHTTPRoute(r: Obj, path: string, e: Errors): void {
  const routes = arr(r.route);
  if (r.redirect !== undefined) {
    if (routes.length > 0) e.add(path, 'HTTP route cannot contain both route and redirect');
    if (r.fault !== undefined) e.add(path, 'HTTP route cannot contain both fault and redirect');
    if (r.rewrite !== undefined) e.add(path, 'HTTP route rule cannot contain both rewrite and redirect');
    if (r.websocketUpgrade === true) e.add(path, 'WebSocket upgrade is not allowed on redirect rules');
  } else if (routes.length === 0) {
    e.add(path, 'HTTP route or redirect is required');
  }
  checkDeprecatedHeaderOps(r, path, e);
  checkCors(obj(r.corsPolicy), at(path, 'corsPolicy'), e);
  checkFault(obj(r.fault), at(path, 'fault'), e);
  arr(r.match).forEach((m, i) => {
    checkHTTPMatch(obj(m) ?? {}, at(at(path, 'match'), i), e);
  });
  if (r.mirrorPercent !== undefined && num(r.mirrorPercent) > 100) {
    e.add(
      at(path, 'mirrorPercent'),
      `mirror_percent must have a max value of 100 (it has ${num(r.mirrorPercent)})`,
    );
  }
  checkDestination(obj(r.mirror), at(path, 'mirror'), e);
  checkRedirect(obj(r.redirect), at(path, 'redirect'), e);
  checkRetry(obj(r.retries), at(path, 'retries'), e);
  const rw = obj(r.rewrite);
  if (rw && !str(rw.uri) && !str(rw.authority))
    e.add(at(path, 'rewrite'), 'rewrite must specify URI, authority, or both');
  checkRouteDestinations(routes, at(path, 'route'), e, true);
  if (r.timeout !== undefined) e.add(at(path, 'timeout'), validateDuration(r.timeout));
}

function checkHTTPMatch(m: Obj, path: string, e: Errors): void {
  for (const [name, header] of Object.entries(obj(m.headers) ?? {})) {
    const p = at(at(path, 'headers'), name);
    if (header === null) e.add(p, `header match ${name} cannot be null`);
    e.add(p, validateHeaderName(name));
  }
  if (m.port !== undefined && num(m.port) !== 0) e.add(at(path, 'port'), validatePort(num(m.port)));
  for (const msg of validateLabels(m.sourceLabels)) e.add(at(path, 'sourceLabels'), msg);
  checkGatewayNames(strs(m.gateways), at(path, 'gateways'), e);
}

function checkCors(c: Obj | undefined, path: string, e: Errors): void {
  if (!c) return;
  for (const m of strs(c.allowMethods)) {
    if (!METHODS.has(m)) e.add(at(path, 'allowMethods'), `"${m}" is not a supported HTTP method`);
  }
  for (const f of ['allowHeaders', 'exposeHeaders']) {
    for (const name of strs(c[f])) e.add(at(path, f), validateHeaderName(name));
  }
  if (c.maxAge !== undefined) {
    const p = at(path, 'maxAge');
    e.add(p, validateDuration(c.maxAge));
    const ns = parseDuration(str(c.maxAge));
    if (ns !== undefined && ns % 1_000_000_000n !== 0n)
      e.add(p, 'max_age duration is accurate only to seconds precision');
  }
}

function checkFault(f: Obj | undefined, path: string, e: Errors): void {
  if (!f) return;
  const abort = obj(f.abort);
  const delay = obj(f.delay);
  if (!abort && !delay) e.add(path, 'HTTP fault injection must have an abort and/or a delay');
  if (abort) {
    const p = at(path, 'abort');
    checkPercents(abort, p, e);
    if (abort.grpcStatus !== undefined) e.add(p, 'gRPC abort fault injection not supported yet');
    if (abort.http2Error !== undefined) e.add(p, 'HTTP/2 abort fault injection not supported yet');
    if (abort.httpStatus !== undefined) {
      const s = num(abort.httpStatus);
      if (s < 200 || s > 600) e.add(at(p, 'httpStatus'), `HTTP status ${s} is not in range 200-599`);
    }
  }
  if (delay) {
    const p = at(path, 'delay');
    checkPercents(delay, p, e);
    if (delay.fixedDelay !== undefined) e.add(at(p, 'fixedDelay'), validateDuration(delay.fixedDelay));
    if (delay.exponentialDelay !== undefined) {
      e.add(at(p, 'exponentialDelay'), validateDuration(delay.exponentialDelay));
      e.add(at(p, 'exponentialDelay'), 'exponentialDelay not supported yet');
    }
  }
}

function checkPercents(o: Obj, path: string, e: Errors): void {
  const pct = obj(o.percentage);
  if (pct) e.add(at(path, 'percentage'), validatePercentage(num(pct.value)));
  e.add(at(path, 'percent'), validatePercent(num(o.percent)));
}

function checkRedirect(r: Obj | undefined, path: string, e: Errors): void {
  if (!r) return;
  if (!str(r.uri) && !str(r.authority)) {
    e.add(path, 'redirect must specify URI, authority, or both');
    return;
  }
  const code = num(r.redirectCode);
  if (code !== 0 && (code < 300 || code > 399)) {
    e.add(at(path, 'redirectCode'), `${code} is not a valid redirect code, must be 3xx`);
  }
}

function checkRetry(r: Obj | undefined, path: string, e: Errors): void {
  if (!r) return;
  const attempts = num(r.attempts);
  if (attempts < 0) e.add(at(path, 'attempts'), 'attempts cannot be negative');
  const configured =
    r.perTryTimeout !== undefined || str(r.retryOn) !== '' || r.retryRemoteLocalities !== undefined;
  if (attempts === 0 && configured)
    e.add(path, 'http retry policy configured when attempts are set to 0 (disabled)');
  if (r.perTryTimeout !== undefined) e.add(at(path, 'perTryTimeout'), validateDuration(r.perTryTimeout));
  const retryOn = str(r.retryOn);
  if (retryOn === '') return;
  for (const policy of retryOn.split(',')) {
    const code = /^[+-]?\d+$/.test(policy) ? Number(policy) : 0;
    if (!HTTP_STATUS.has(code) && !RETRY_ON.has(policy)) {
      e.add(at(path, 'retryOn'), `"${policy}" is not a valid retryOn policy`);
    }
  }
}

/** Destination host/subset/port; shared with mirror. */
function checkDestination(d: Obj | undefined, path: string, e: Errors): void {
  if (!d) return;
  const host = str(d.host);
  if (host === '*') e.add(at(path, 'host'), `invalid destination host ${host}`);
  else e.add(at(path, 'host'), validateWildcardDomain(host));
  if (str(d.subset) !== '') e.add(at(path, 'subset'), validateSubsetName(str(d.subset)));
  if (d.port !== undefined) checkPortSelector(obj(d.port) ?? {}, at(path, 'port'), e);
}

export function validateSubsetName(name: string): string | undefined {
  if (name === '') return 'subset name cannot be empty';
  return isDNS1123Label(name) ? undefined : `subset name is invalid: ${name}`;
}

/** PortSelector: a port number or (deprecated) a port name. */
export function checkPortSelector(p: Obj, path: string, e: Errors): void {
  const name = str(p.name);
  const number = num(p.number);
  if (name === '' && number === 0) {
    e.add(path, validateSubsetName(name));
    e.add(path, validatePort(number));
  } else if (number !== 0) {
    e.add(at(path, 'number'), validatePort(number));
  } else {
    e.add(at(path, 'name'), validateSubsetName(name));
  }
}

function checkRouteDestinations(list: unknown[], path: string, e: Errors, http: boolean): void {
  let total = 0;
  list.forEach((item, i) => {
    const w = obj(item) ?? {};
    const p = at(path, i);
    if (w.destination === undefined) e.add(p, 'destination is required');
    if (http) checkDeprecatedHeaderOps(w, p, e);
    checkDestination(obj(w.destination), at(p, 'destination'), e);
    e.add(at(p, 'weight'), validatePercent(num(w.weight)));
    total += num(w.weight);
  });
  if (list.length > 1 && total !== 100) e.add(path, `total destination weight ${total} != 100`);
}

function checkL4Match(m: Obj, path: string, e: Errors): void {
  strs(m.destinationSubnets).forEach((s, i) => {
    e.add(at(at(path, 'destinationSubnets'), i), validateIPSubnet(s));
  });
  if (str(m.sourceSubnet) !== '') e.add(at(path, 'sourceSubnet'), validateIPSubnet(str(m.sourceSubnet)));
  if (num(m.port) !== 0) e.add(at(path, 'port'), validatePort(num(m.port)));
  for (const msg of validateLabels(m.sourceLabels)) e.add(at(path, 'sourceLabels'), msg);
  checkGatewayNames(strs(m.gateways), at(path, 'gateways'), e);
}

function checkTCPRoute(r: Obj, path: string, e: Errors): void {
  arr(r.match).forEach((m, i) => {
    checkL4Match(obj(m) ?? {}, at(at(path, 'match'), i), e);
  });
  const routes = arr(r.route);
  if (routes.length === 0) e.add(path, 'TCP route is required');
  checkRouteDestinations(routes, at(path, 'route'), e, false);
}

function checkTLSRoute(r: Obj, vsHosts: string[], path: string, e: Errors): void {
  const matches = arr(r.match);
  if (matches.length === 0) e.add(path, 'TLS route must have at least one match condition');
  matches.forEach((item, i) => {
    const m = obj(item) ?? {};
    const p = at(at(path, 'match'), i);
    const sni = strs(m.sniHosts);
    if (sni.length === 0) e.add(p, 'TLS match must have at least one SNI host');
    sni.forEach((h, j) => {
      e.add(at(at(p, 'sniHosts'), j), checkSniHost(h, vsHosts));
    });
    checkL4Match(m, p, e);
  });
  const routes = arr(r.route);
  if (routes.length === 0) e.add(path, 'TLS route is required');
  checkRouteDestinations(routes, at(path, 'route'), e, false);
}

function checkSniHost(sni: string, vsHosts: string[]): string | undefined {
  const err = validateWildcardDomain(sni);
  if (err && !isIPAddress(sni)) return err;
  if (vsHosts.some((h) => hostSubsetOf(sni, h))) return undefined;
  return `SNI host "${sni}" is not a compatible subset of any of the virtual service hosts: [${vsHosts.join(', ')}]`;
}
