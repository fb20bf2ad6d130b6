import { isIP } from 'node:net';
import { checkIstioDuration, parseConfigDuration, parseGoDuration } from '@keel/runtime/duration';

/** One validation problem; `field` is a dotted path inside spec, e.g. "http[0].route[1].weight". */
export interface FieldError {
  field?: string;
  message: string;
}

/** Validates one kind's spec; returns every error found (empty when valid). */
export type SpecValidator = (
  spec: Record<string, unknown>,
  meta: { name: string; namespace?: string },
) => FieldError[];

export type Obj = Record<string, unknown>;

/** Collects errors for one validation run. */
export class Errors {
  readonly list: FieldError[] = [];
  add(field: string | undefined, message: string | undefined): void {
    if (message === undefined) return;
    this.list.push(field ? { field, message } : { message });
  }
}

/** Joins a parent path and a child key or index. */
export function at(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

export const obj = (v: unknown): Obj | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
export const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
export const strs = (v: unknown): string[] => arr(v).map(str);

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;
const WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/i;

/** Kubernetes DNS-1123 label (case-insensitive, as Istio 1.4's regexp allows). */
export function isDNS1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

export function isWildcardDNS1123Label(s: string): boolean {
  return s.length <= 63 && WILDCARD_LABEL.test(s);
}

function dnsPreconditions(name: string): string | undefined {
  if (name.length > 255) return `domain name "${name}" too long (max 255)`;
  if (name.length === 0) return 'empty domain name not allowed';
  return undefined;
}

/** Checks each label of `domain`; messages name `shown` (the whole name the user wrote). */
function dns1123Labels(domain: string, shown = domain): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1] ?? '';
  if (/^[+-]?\d+$/.test(tld)) {
    return `domain name "${shown}" invalid (top level domain "${tld}" cannot be all-numeric)`;
  }
  for (const [i, label] of parts.entries()) {
    if (i === parts.length - 1 && label === '') return undefined;
    if (!isDNS1123Label(label)) return `domain name "${shown}" invalid (label "${label}" invalid)`;
  }
  return undefined;
}

/** Fully qualified domain name check; returns the Istio message or undefined. */
export function validateFQDN(fqdn: string): string | undefined {
  return dnsPreconditions(fqdn) ?? dns1123Labels(fqdn);
}

/** Domain that may carry a wildcard in its first label only ("*", "*.foo.com", "*-foo.bar"). */
export function validateWildcardDomain(domain: string): string | undefined {
  const pre = dnsPreconditions(domain);
  if (pre) return pre;
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (!isWildcardDNS1123Label(first)) {
    return `domain name "${domain}" invalid (label "${first}" invalid)`;
  }
  return dot < 0 ? undefined : dns1123Labels(domain.slice(dot + 1), domain);
}

export function isIPAddress(s: string): boolean {
  return isIP(s) !== 0;
}

export function validateIPAddress(addr: string): string | undefined {
  return isIPAddress(addr) ? undefined : `${addr} is not a valid IP`;
}

/** CIDR ("10.0.0.0/8") or plain IP. */
export function validateIPSubnet(subnet: string): string | undefined {
  const slash = subnet.indexOf('/');
  if (slash < 0) return isIPAddress(subnet) ? undefined : `${subnet} is not a valid IP`;
  const ip = subnet.slice(0, slash);
  const bits = subnet.slice(slash + 1);
  const family = isIP(ip);
  const max = family === 4 ? 32 : 128;
  if (family === 0 || !/^\d+$/.test(bits) || Number(bits) > max) {
    return `invalid CIDR address: ${subnet}`;
  }
  return undefined;
}

export function validatePort(port: number): string | undefined {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return `port number ${port} must be in the range 1..65535`;
  }
  return undefined;
}

export function validatePortName(name: string): string | undefined {
  return isDNS1123Label(name) ? undefined : `invalid port name: ${name}`;
}

const PROTOCOLS = new Set([
  'tcp',
  'udp',
  'grpc',
  'grpc-web',
  'http',
  'http_proxy',
  'http2',
  'https',
  'tls',
  'mongo',
  'redis',
  'mysql',
  'thrift',
]);

/** Istio protocol.Parse != Unsupported (case-insensitive). */
export function isKnownProtocol(p: string): boolean {
  return PROTOCOLS.has(p.toLowerCase());
}

export function isHTTPProtocol(p: string): boolean {
  return ['http', 'http2', 'grpc', 'grpc-web', 'http_proxy'].includes(p.toLowerCase());
}

export function isTLSProtocol(p: string): boolean {
  return ['https', 'tls'].includes(p.toLowerCase());
}

export function validateProtocol(p: string): string | undefined {
  return isKnownProtocol(p) ? undefined : `unrecognized protocol "${p}"`;
}

/** Integer percent 0..100 (deprecated int32 percent fields, weights). */
export function validatePercent(v: number): string | undefined {
  return v < 0 || v > 100 ? `percentage ${v} is not in range 0..100` : undefined;
}

/** networking.Percent value: 0, or within [0.0001, 100]. */
export function validatePercentage(v: number): string | undefined {
  if (v < 0 || v > 100 || (v > 0 && v < 0.0001)) {
    return `percentage ${v} is neither 0.0, nor in range [0.0001, 100.0]`;
  }
  return undefined;
}

/** Istio 1.4 only rejects empty header names. */
export function validateHeaderName(name: string): string | undefined {
  return name === '' ? 'header name cannot be empty' : undefined;
}

/** A Go duration string in nanoseconds (the one duration module, @keel/runtime/duration). */
export function parseDuration(s: string): bigint | undefined {
  const r = parseGoDuration(s);
  return r.ok ? r.value : undefined;
}

/** Istio ValidateDuration of a config value: parses as Istio 1.4 did, then >= 1ms and ms precision. */
export function validateDuration(v: unknown): string | undefined {
  const r = parseConfigDuration(v);
  return r.ok ? checkIstioDuration(r.value) : r.errors;
}

const QUALIFIED = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function validLabelKey(k: string): boolean {
  const parts = k.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1] as string;
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) return false;
  }
  return name.length > 0 && name.length <= 63 && QUALIFIED.test(name);
}

/** Istio labels.Instance.Validate: one message per bad key or value. */
export function validateLabels(labels: unknown): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj(labels) ?? {})) {
    if (!validLabelKey(k)) out.push(`invalid tag key: "${k}"`);
    const value = str(v);
    if (value.length > 63 || (value !== '' && !QUALIFIED.test(value)))
      out.push(`invalid tag value: "${value}"`);
  }
  return out;
}

/** Workload selector labels: no empty keys, no wildcards. */
export function validateWorkloadSelectorLabels(labels: unknown): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj(labels) ?? {})) {
    const pair = `${k}=${str(v)}`;
    if (k === '') out.push(`empty key is not supported in selector: "${pair}"`);
    if (k.includes('*') || str(v).includes('*')) out.push(`wildcard is not supported in selector: "${pair}"`);
  }
  return out;
}

/** Unix domain socket path (after "unix://"). */
export function validateUnixAddress(addr: string): string | undefined {
  if (addr.length === 0) return 'unix address must not be empty';
  if (addr.startsWith('@')) return undefined;
  if (!addr.startsWith('/') || addr.endsWith('/')) return `${addr} is not an absolute path to a file`;
  return undefined;
}

export const UNIX_PREFIX = 'unix://';

/** exportTo: at most one entry, "." or "*". */
export function validateExportTo(exportTo: unknown): string | undefined {
  const list = strs(exportTo);
  if (list.length > 1) return 'exportTo should have only one entry (. or *) in the current release';
  if (list.length === 1 && list[0] !== '.' && list[0] !== '*') {
    return 'only . or * is allowed in the exportTo in the current release';
  }
  return undefined;
}

/** Istio host.Name.Matches: either name (possibly wildcarded) covers the other. */
export function hostsMatch(a: string, b: string): boolean {
  const aw = a.startsWith('*');
  const bw = b.startsWith('*');
  if (aw && bw)
    return a.length < b.length ? b.slice(1).endsWith(a.slice(1)) : a.slice(1).endsWith(b.slice(1));
  if (aw) return b.endsWith(a.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return a === b;
}

/** Istio host.Name.SubsetOf: every name matched by `a` is matched by `b`. */
export function hostSubsetOf(a: string, b: string): boolean {
  const aw = a.startsWith('*');
  const bw = b.startsWith('*');
  if (aw) return bw && a.length >= b.length && a.slice(1).endsWith(b.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return a === b;
}
