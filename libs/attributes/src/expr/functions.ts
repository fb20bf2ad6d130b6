// The functions of Mixer's expression language (Istio 1.4 `mixer/pkg/lang` externs and intrinsics).
import type { AttributeValue, IpAddress, ValueTypeName } from '../values.js';
import { Duration, ipEqual, parseIp } from '../values.js';

/** Raised while evaluating: a missing attribute outside `|`, a bad conversion, a bad pattern. */
export class EvaluationError extends Error {}

/** A parameter or result type; 'T' is the one generic type of `conditional`. */
export type ParamType = ValueTypeName | 'T';

export interface FunctionDef {
  readonly name: string;
  /** Type of the receiver for methods (`"re".matches(s)`, `s.startsWith(p)`). */
  readonly target?: ValueTypeName;
  readonly params: readonly ParamType[];
  readonly result: ParamType;
  /** Called with evaluated receiver (if any) then arguments. */
  readonly impl: (...args: any[]) => AttributeValue;
}

const MAX_REGEX = 4096;
const regexCache = new Map<string, RegExp>();

/** A compiled regular expression (RE2-style patterns are ECMAScript-compatible for the common subset). */
export function compileRegex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (re) return re;
  if (pattern.length > MAX_REGEX)
    throw new EvaluationError(`regular expression longer than ${MAX_REGEX} characters`);
  try {
    re = new RegExp(pattern.replace(/^\(\?i\)/, ''), pattern.startsWith('(?i)') ? 'ui' : 'u');
  } catch (e) {
    throw new EvaluationError(
      `invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`,
    );
  }
  if (regexCache.size >= 1024) regexCache.clear();
  regexCache.set(pattern, re);
  return re;
}

/** Glob match: a trailing `*` is a prefix match, a leading `*` a suffix match, otherwise equality. */
export function globMatch(str: string, pattern: string): boolean {
  if (pattern.endsWith('*')) return str.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return str.endsWith(pattern.slice(1));
  return str === pattern;
}

export function toIp(s: string): IpAddress {
  const ip = parseIp(s);
  if (!ip) throw new EvaluationError(`could not convert ${JSON.stringify(s)} to IP_ADDRESS`);
  return ip;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function toTimestamp(s: string): Date {
  const d = RFC3339.test(s) ? new Date(s) : undefined;
  if (!d || Number.isNaN(d.getTime()))
    throw new EvaluationError(`could not convert ${JSON.stringify(s)} to TIMESTAMP`);
  return d;
}

const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function toDnsName(s: string): string {
  const t = s.endsWith('.') ? s.slice(0, -1) : s;
  if (t.length === 0 || t.length > 253 || !t.split('.').every((l) => DNS_LABEL.test(l)))
    throw new EvaluationError(`could not convert ${JSON.stringify(s)} to DNS_NAME`);
  return s;
}

export function toEmail(s: string): string {
  const at = s.lastIndexOf('@');
  if (at <= 0 || s.length > 320 || /\s/.test(s))
    throw new EvaluationError(`could not convert ${JSON.stringify(s)} to EMAIL_ADDRESS`);
  toDnsName(s.slice(at + 1));
  return s;
}

export function toUri(s: string): string {
  try {
    new URL(s);
  } catch {
    throw new EvaluationError(`could not convert ${JSON.stringify(s)} to URI`);
  }
  return s;
}

export function dnsNameEqual(a: string, b: string): boolean {
  const norm = (x: string) => (x.endsWith('.') ? x.slice(0, -1) : x).toLowerCase();
  return norm(a) === norm(b);
}

export function emailEqual(a: string, b: string): boolean {
  const i = a.lastIndexOf('@');
  const j = b.lastIndexOf('@');
  return a.slice(0, i) === b.slice(0, j) && dnsNameEqual(a.slice(i + 1), b.slice(j + 1));
}

export function uriEqual(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return a === b;
  }
}

const te = new TextEncoder();

function def(
  name: string,
  params: ParamType[],
  result: ParamType,
  impl: (...a: any[]) => AttributeValue,
  target?: ValueTypeName,
): FunctionDef {
  return { name, params, result, impl, target };
}

/** Every function and method, by name. `conditional` is lazy and handled by the compiler. */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(
  [
    def('conditional', ['BOOL', 'T', 'T'], 'T', (c: boolean, a, b) => (c ? a : b)),
    def('conditionalString', ['BOOL', 'STRING', 'STRING'], 'STRING', (c: boolean, a, b) => (c ? a : b)),
    def('size', ['STRING'], 'INT64', (s: string) => te.encode(s).length),
    def('match', ['STRING', 'STRING'], 'BOOL', globMatch),
    def('matches', ['STRING'], 'BOOL', (re: string, s: string) => compileRegex(re).test(s), 'STRING'),
    def('startsWith', ['STRING'], 'BOOL', (s: string, p: string) => s.startsWith(p), 'STRING'),
    def('endsWith', ['STRING'], 'BOOL', (s: string, p: string) => s.endsWith(p), 'STRING'),
    def('ip', ['STRING'], 'IP_ADDRESS', toIp),
    def('timestamp', ['STRING'], 'TIMESTAMP', toTimestamp),
    def('dnsName', ['STRING'], 'DNS_NAME', toDnsName),
    def('email', ['STRING'], 'EMAIL_ADDRESS', toEmail),
    def('uri', ['STRING'], 'URI', toUri),
    def('emptyStringMap', [], 'STRING_MAP', () => new Map<string, string>()),
    def('toLower', ['STRING'], 'STRING', (s: string) => s.toLowerCase()),
    def('reverse', ['STRING'], 'STRING', (s: string) => [...s].reverse().join('')),
    def('ip_equal', ['IP_ADDRESS', 'IP_ADDRESS'], 'BOOL', ipEqual),
    def(
      'timestamp_equal',
      ['TIMESTAMP', 'TIMESTAMP'],
      'BOOL',
      (a: Date, b: Date) => a.getTime() === b.getTime(),
    ),
    def('timestamp_lt', ['TIMESTAMP', 'TIMESTAMP'], 'BOOL', (a: Date, b: Date) => a.getTime() < b.getTime()),
    def('timestamp_le', ['TIMESTAMP', 'TIMESTAMP'], 'BOOL', (a: Date, b: Date) => a.getTime() <= b.getTime()),
    def('timestamp_gt', ['TIMESTAMP', 'TIMESTAMP'], 'BOOL', (a: Date, b: Date) => a.getTime() > b.getTime()),
    def('timestamp_ge', ['TIMESTAMP', 'TIMESTAMP'], 'BOOL', (a: Date, b: Date) => a.getTime() >= b.getTime()),
    def('dnsName_equal', ['DNS_NAME', 'DNS_NAME'], 'BOOL', dnsNameEqual),
    def('email_equal', ['EMAIL_ADDRESS', 'EMAIL_ADDRESS'], 'BOOL', emailEqual),
    def('uri_equal', ['URI', 'URI'], 'BOOL', uriEqual),
  ].map((f) => [f.name, f]),
);

/** Equality per value type (IP, DNS name, email and URI equality are not string equality). */
export function equalityFor(t: ValueTypeName): (a: any, b: any) => boolean {
  switch (t) {
    case 'IP_ADDRESS':
      return ipEqual;
    case 'DNS_NAME':
      return dnsNameEqual;
    case 'EMAIL_ADDRESS':
      return emailEqual;
    case 'URI':
      return uriEqual;
    case 'TIMESTAMP':
      return (a: Date, b: Date) => a.getTime() === b.getTime();
    case 'DURATION':
      return (a: Duration, b: Duration) => a.ms === b.ms;
    case 'STRING_MAP':
      return (a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>) => {
        if (a.size !== b.size) return false;
        for (const [k, v] of a) if (b.get(k) !== v) return false;
        return true;
      };
    default:
      return (a, b) => a === b;
  }
}

/** A number for ordering comparisons of INT64, DOUBLE, TIMESTAMP and DURATION (strings compare as is). */
export function ordinal(v: AttributeValue): number | string {
  if (v instanceof Date) return v.getTime();
  if (v instanceof Duration) return v.ms;
  return v as number | string;
}
