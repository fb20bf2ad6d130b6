/** Attribute value types, `istio.policy.v1beta1.ValueType` (names and numbers are Istio's). */
export const ValueType = {
  VALUE_TYPE_UNSPECIFIED: 0,
  STRING: 1,
  INT64: 2,
  DOUBLE: 3,
  BOOL: 4,
  TIMESTAMP: 5,
  IP_ADDRESS: 6,
  EMAIL_ADDRESS: 7,
  URI: 8,
  DNS_NAME: 9,
  DURATION: 10,
  STRING_MAP: 11,
} as const;
export type ValueTypeName = keyof typeof ValueType;

/** A span of time, held in milliseconds (fractions allowed, so nanoseconds survive a round trip). */
export class Duration {
  constructor(readonly ms: number) {}
  toString(): string {
    return formatDuration(this.ms);
  }
}

/** An IP address: 4 or 16 bytes, as Mixer carries it (the `bytes` map of CompressedAttributes). */
export type IpAddress = Uint8Array;
export type StringMap = ReadonlyMap<string, string>;

/**
 * A value in a bag. STRING, DNS_NAME, EMAIL_ADDRESS and URI are strings; INT64 and DOUBLE numbers;
 * TIMESTAMP a Date; DURATION a Duration; IP_ADDRESS a Uint8Array; STRING_MAP a ReadonlyMap.
 */
export type AttributeValue = string | number | boolean | Date | Duration | IpAddress | StringMap;

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration (`10ms`, `1.5s`, `1h2m`, `-3s`, `0`); undefined when malformed. */
export function parseGoDuration(text: string): Duration | undefined {
  let s = text.trim();
  if (s === '0') return new Duration(0);
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s.length === 0 || s.length > 64) return undefined;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    part.lastIndex = pos;
    const m = part.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = part.lastIndex;
  }
  return new Duration(sign * total);
}

/** Formats milliseconds the way Go prints a time.Duration (`1.5s`, `250ms`, `1m0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let v = Math.abs(ms);
  let out: string;
  if (v < 1) out = v * 1000 >= 1 ? `${round(v * 1000)}µs` : `${round(v * 1e6)}ns`;
  else if (v < 1000) out = `${round(v)}ms`;
  else {
    const h = Math.floor(v / 3_600_000);
    v -= h * 3_600_000;
    const m = Math.floor(v / 60_000);
    v -= m * 60_000;
    const s = `${round(v / 1000)}s`;
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

function round(n: number): string {
  return String(Math.round(n * 1e9) / 1e9);
}

/** Parses an IPv4 or IPv6 address to 4 or 16 bytes; undefined when malformed. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.length > 64) return undefined;
  if (text.includes(':')) return parseIp6(text);
  return parseIp4(text);
}

function parseIp4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIp6(text: string): Uint8Array | undefined {
  let s = text;
  let tail4: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail4 = parseIp4(s.slice(lastColon + 1));
    if (!tail4) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (halves.length === 1 && head.length !== 8) return undefined;
  if (groups < 0 || (halves.length === 2 && groups < 1)) return undefined;
  const all = [...head, ...Array<string>(groups).fill('0'), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = Number.parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}

/** The 16-byte form of an address (IPv4 as ::ffff:a.b.c.d), so v4 and mapped v6 compare equal. */
export function ipTo16(ip: IpAddress): Uint8Array {
  if (ip.length === 16) return ip;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(ip, 12);
  return out;
}

/** Equality of two addresses, an IPv4 address equal to its IPv4-mapped IPv6 form. */
export function ipEqual(a: IpAddress, b: IpAddress): boolean {
  const x = ipTo16(a);
  const y = ipTo16(b);
  for (let i = 0; i < 16; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Text form of an address (dotted quad for IPv4 and IPv4-mapped IPv6). */
export function formatIp(ip: IpAddress): string {
  const v = ip.length === 16 && isMapped4(ip) ? ip.subarray(12) : ip;
  if (v.length === 4) return Array.from(v).join('.');
  if (v.length !== 16) return `?${Array.from(v).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((v[i]! << 8) | v[i + 1]!).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function isMapped4(ip: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}

/** A CIDR block (`10.57.0.0/16`, `fd00::/8`) or a single address; undefined when malformed. */
export interface Cidr {
  readonly base: Uint8Array;
  readonly bits: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const max = ip.length * 8;
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b)) return undefined;
    bits = Number(b);
    if (bits > max) return undefined;
  }
  return { base: ipTo16(ip), bits: ip.length === 4 ? bits + 96 : bits };
}

/** Whether an address lies in a CIDR block. */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  const a = ipTo16(ip);
  let bits = cidr.bits;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i]! & mask) !== (cidr.base[i]! & mask)) return false;
  }
  return true;
}

/** The value type a JS value suggests (INT64 for integral numbers), for encoding without a manifest. */
export function inferType(v: AttributeValue): ValueTypeName {
  switch (typeof v) {
    case 'string':
      return 'STRING';
    case 'boolean':
      return 'BOOL';
    case 'number':
      return Number.isInteger(v) ? 'INT64' : 'DOUBLE';
  }
  if (v instanceof Date) return 'TIMESTAMP';
  if (v instanceof Duration) return 'DURATION';
  if (v instanceof Uint8Array) return 'IP_ADDRESS';
  return 'STRING_MAP';
}

/** A stable text form of a value, used in cache keys and logs. */
export function valueKey(v: AttributeValue): string {
  switch (typeof v) {
    case 'string':
      return `s${v}`;
    case 'boolean':
      return v ? 'T' : 'F';
    case 'number':
      return `n${v}`;
  }
  if (v instanceof Date) return `t${v.getTime()}`;
  if (v instanceof Duration) return `d${v.ms}`;
  if (v instanceof Uint8Array) return `i${formatIp(v)}`;
  const keys = [...v.keys()].sort();
  return `m${JSON.stringify(keys.map((k) => [k, v.get(k)]))}`;
}

/** Deep equality of two values of the same type. */
export function valuesEqual(a: AttributeValue, b: AttributeValue): boolean {
  if (a === b) return true;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Duration && b instanceof Duration) return a.ms === b.ms;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return ipEqual(a, b);
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (b.get(k) !== v) return false;
    return true;
  }
  return false;
}
