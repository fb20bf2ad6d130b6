import {
  arr,
  at,
  type Errors,
  num,
  type Obj,
  obj,
  str,
  validateDuration,
  validateExportTo,
  validateLabels,
  validatePercent,
  validateWildcardDomain,
} from './common.js';
import { checkPortSelector, validateSubsetName } from './networking-vs.js';

/** Checks a normalized DestinationRule spec. */
export function checkDestinationRule(dr: Obj, e: Errors): void {
  e.add('host', validateWildcardDomain(str(dr.host)));
  checkTrafficPolicy(obj(dr.trafficPolicy), 'trafficPolicy', e);
  arr(dr.subsets).forEach((item, i) => {
    const s = obj(item) ?? {};
    const p = at('subsets', i);
    e.add(at(p, 'name'), validateSubsetName(str(s.name)));
    for (const msg of validateLabels(s.labels)) e.add(at(p, 'labels'), msg);
    checkTrafficPolicy(obj(s.trafficPolicy), at(p, 'trafficPolicy'), e);
  });
  e.add('exportTo', validateExportTo(dr.exportTo));
}

const POLICY_PARTS = ['outlierDetection', 'connectionPool', 'loadBalancer', 'tls'];

function checkTrafficPolicy(tp: Obj | undefined, path: string, e: Errors): void {
  if (!tp) return;
  if (!POLICY_PARTS.some((k) => tp[k] !== undefined) && tp.portLevelSettings === undefined) {
    e.add(path, 'traffic policy must have at least one field');
    return;
  }
  checkPolicyParts(tp, path, e);
  arr(tp.portLevelSettings).forEach((item, i) => {
    const pl = obj(item) ?? {};
    const p = at(at(path, 'portLevelSettings'), i);
    if (pl.port === undefined) e.add(p, 'portTrafficPolicy must have valid port');
    else checkPortSelector(obj(pl.port) ?? {}, at(p, 'port'), e);
    if (!POLICY_PARTS.some((k) => pl[k] !== undefined))
      e.add(p, 'port traffic policy must have at least one field');
    else checkPolicyParts(pl, p, e);
  });
}

function checkPolicyParts(tp: Obj, path: string, e: Errors): void {
  checkOutlier(obj(tp.outlierDetection), at(path, 'outlierDetection'), e);
  checkConnectionPool(obj(tp.connectionPool), at(path, 'connectionPool'), e);
  checkLoadBalancer(obj(tp.loadBalancer), at(path, 'loadBalancer'), e);
  const tls = obj(tp.tls);
  if (tls?.mode === 'MUTUAL') {
    if (str(tls.clientCertificate) === '')
      e.add(at(path, 'tls'), 'client certificate required for mutual tls');
    if (str(tls.privateKey) === '') e.add(at(path, 'tls'), 'private key required for mutual tls');
  }
}

function checkDurations(o: Obj, fields: string[], path: string, e: Errors): void {
  for (const f of fields) if (o[f] !== undefined) e.add(at(path, f), validateDuration(o[f]));
}

function checkOutlier(o: Obj | undefined, path: string, e: Errors): void {
  if (!o) return;
  checkDurations(o, ['baseEjectionTime', 'interval'], path, e);
  if (num(o.consecutiveErrors) < 0) {
    e.add(at(path, 'consecutiveErrors'), 'outlier detection consecutive errors cannot be negative');
  }
  e.add(at(path, 'maxEjectionPercent'), validatePercent(num(o.maxEjectionPercent)));
  e.add(at(path, 'minHealthPercent'), validatePercent(num(o.minHealthPercent)));
}

const NON_NEGATIVE: Record<string, string> = {
  http1MaxPendingRequests: 'http1 max pending requests must be non-negative',
  http2MaxRequests: 'http2 max requests must be non-negative',
  maxRequestsPerConnection: 'max requests per connection must be non-negative',
  maxRetries: 'max retries must be non-negative',
  maxConnections: 'max connections must be non-negative',
};

function checkConnectionPool(c: Obj | undefined, path: string, e: Errors): void {
  if (!c) return;
  if (c.http === undefined && c.tcp === undefined) {
    e.add(path, 'must have at least one field');
    return;
  }
  for (const part of ['http', 'tcp']) {
    const o = obj(c[part]);
    if (!o) continue;
    const p = at(path, part);
    for (const [f, msg] of Object.entries(NON_NEGATIVE)) if (num(o[f]) < 0) e.add(at(p, f), msg);
    checkDurations(o, ['idleTimeout', 'connectTimeout'], p, e);
    const ka = obj(o.tcpKeepalive);
    if (ka) checkDurations(ka, ['time', 'interval'], at(p, 'tcpKeepalive'), e);
  }
}

function checkLoadBalancer(lb: Obj | undefined, path: string, e: Errors): void {
  if (!lb) return;
  const cookie = obj(obj(lb.consistentHash)?.httpCookie);
  if (cookie) {
    const p = at(at(path, 'consistentHash'), 'httpCookie');
    if (str(cookie.name) === '') e.add(p, 'name required for HttpCookie');
    if (cookie.ttl === undefined) e.add(p, 'ttl required for HttpCookie');
    else e.add(at(p, 'ttl'), validateDuration(cookie.ttl));
  }
  const locality = obj(lb.localityLbSetting);
  if (locality) e.add(at(path, 'localityLbSetting'), checkLocalityLb(locality));
}

/** Istio stops at the first locality problem, so this returns at most one message. */
function checkLocalityLb(lb: Obj): string | undefined {
  const distribute = arr(lb.distribute).map((d) => obj(d) ?? {});
  const failover = arr(lb.failover).map((f) => obj(f) ?? {});
  if (distribute.length > 0 && failover.length > 0) {
    return "can not simultaneously specify 'distribute' and 'failover'";
  }
  for (const d of distribute) {
    const to = Object.entries(obj(d.to) ?? {});
    let total = 0;
    for (const [, w] of to) {
      if (num(w) === 0) return 'locality weight must not be in range [1, 100]';
      total += num(w);
    }
    if (total !== 100) return `total locality weight ${total} != 100`;
    const err = checkLocalities(to.map(([loc]) => loc));
    if (err) return err;
  }
  const srcErr = checkLocalities(distribute.map((d) => str(d.from)));
  if (srcErr) return srcErr;
  for (const f of failover) {
    if (str(f.from) === str(f.to)) return 'locality lb failover settings must specify different regions';
    if (str(f.to).includes('*')) return "locality lb failover region should not contain '*' wildcard";
  }
  return undefined;
}

/** Localities "region/zone/subzone", a single trailing '*' allowed; no locality may cover another. */
function checkLocalities(localities: string[]): string | undefined {
  const seen: string[][] = [];
  for (const loc of localities) {
    const stars = loc.split('*').length - 1;
    if (stars > 1 || (stars === 1 && !loc.endsWith('*'))) {
      return `locality ${loc} wildcard '*' number can not exceed 1 and must be in the end`;
    }
    const parts = loc.split('/');
    const overlaps = seen.some((other) => {
      for (let i = 0; i < Math.min(parts.length, other.length); i++) {
        if (parts[i] === '*' || other[i] === '*') return true;
        if (parts[i] !== other[i]) return false;
      }
      return true;
    });
    if (overlaps) return `locality ${loc} overlap with previous specified ones`;
    seen.push(parts);
  }
  return undefined;
}
