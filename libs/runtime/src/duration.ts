// The one duration module: Go's time.ParseDuration grammar (what Istio 1.4 used for every duration
// in config, flags and mesh config), protobuf Duration limits, and conversion to
// google.protobuf.Duration in its JSON form ("90s", "1.500s") and object form ({seconds, nanos}).
import type { Result } from './result.js';

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX_INT64 = 9_223_372_036_854_775_807n;
const NS_PER_S = 1_000_000_000n;
/** Longest text accepted (bounds the work on hostile input). */
const MAX_TEXT = 128;

/** A duration in whole nanoseconds. */
export type Nanos = bigint;

/**
 * Go `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, units ns us µs ms s m h, `0` alone
 * needs no unit; the result must fit an int64 of nanoseconds. Errors carry Go's message
 * (`time: invalid duration 1x`, `time: missing unit in duration 1`, `time: unknown unit d in duration 1d`).
 */
export function parseGoDuration(text: string): Result<Nanos, string> {
  const bad = (why = 'invalid duration'): Result<Nanos, string> => ({
    ok: false,
    errors: `time: ${why} ${text}`,
  });
  if (text.length > MAX_TEXT) return bad();
  let s = text;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, value: 0n };
  if (s === '') return bad();
  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s) as RegExpExecArray;
    const [whole, int = '', frac] = m;
    if (int === '' && (frac === undefined || frac === '')) return bad();
    s = s.slice(whole.length);
    const unitMatch = /^[^\d.]*/.exec(s) as RegExpExecArray;
    const unitText = unitMatch[0];
    if (unitText === '') return bad('missing unit in duration');
    const unit = UNIT_NS[unitText];
    if (unit === undefined)
      return { ok: false, errors: `time: unknown unit ${unitText} in duration ${text}` };
    s = s.slice(unitText.length);
    const f = frac ?? '';
    total += BigInt(int || '0') * unit + (BigInt(f || '0') * unit) / 10n ** BigInt(f.length);
    if (total > MAX_INT64) return bad();
  }
  return { ok: true, value: neg ? -total : total };
}

/** Istio's ValidateDuration (route timeouts, retries, outlier detection, ...): >= 1ms, ms precision. */
export function checkIstioDuration(ns: Nanos): string | undefined {
  if (ns < 1_000_000n) return 'duration must be greater than 1ms';
  if (ns % 1_000_000n !== 0n) return 'only durations to ms precision are supported';
  return undefined;
}

/**
 * A config duration as Istio 1.4 read it (jsonpb into google.protobuf.Duration, which used
 * time.ParseDuration): nanoseconds, or the message Istio gave (`bad Duration: time: invalid duration 1x`).
 */
export function parseConfigDuration(value: unknown): Result<Nanos, string> {
  if (typeof value !== 'string') return { ok: false, errors: `bad Duration: ${JSON.stringify(value)}` };
  const r = parseGoDuration(value);
  return r.ok ? r : { ok: false, errors: `bad Duration: ${r.errors}` };
}

/** google.protobuf.Duration JSON form: seconds with 0, 3, 6 or 9 fractional digits and an `s`. */
export function formatProtoDuration(ns: Nanos): string {
  const neg = ns < 0n;
  const abs = neg ? -ns : ns;
  const secs = abs / NS_PER_S;
  const nanos = abs % NS_PER_S;
  let frac = '';
  if (nanos !== 0n) {
    const digits = nanos.toString().padStart(9, '0');
    frac = `.${nanos % 1_000_000n === 0n ? digits.slice(0, 3) : nanos % 1_000n === 0n ? digits.slice(0, 6) : digits}`;
  }
  return `${neg ? '-' : ''}${secs}${frac}s`;
}

/** google.protobuf.Duration object form, as the Envoy resources carry it. */
export function toProtoDuration(ns: Nanos): { seconds: number; nanos: number } {
  const seconds = ns / NS_PER_S;
  return { seconds: Number(seconds), nanos: Number(ns - seconds * NS_PER_S) };
}

/**
 * A duration string (Go grammar; the protobuf JSON form is a subset) as google.protobuf.Duration;
 * undefined when absent or unparsable.
 */
export function protoDurationOf(text: string | undefined): { seconds: number; nanos: number } | undefined {
  if (text === undefined || text === '') return undefined;
  const r = parseGoDuration(text);
  return r.ok ? toProtoDuration(r.value) : undefined;
}

/**
 * Flag and environment durations in milliseconds: Go's grammar, not negative; a bare number is
 * taken as milliseconds (a Keel convenience kept for existing deployments).
 */
export function parseDuration(text: string): Result<number, string> {
  const s = text.trim();
  if (s.length === 0) return { ok: false, errors: 'empty duration' };
  if (/^\d+(\.\d+)?$/.test(s)) return { ok: true, value: Number(s) };
  const r = parseGoDuration(s);
  if (!r.ok || r.value < 0n)
    return { ok: false, errors: `invalid duration '${text}' (use e.g. 500ms, 10s, 1m, 1h30m)` };
  return { ok: true, value: Number(r.value) / 1e6 };
}
