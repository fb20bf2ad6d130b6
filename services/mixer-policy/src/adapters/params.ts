// Reading adapter params (Struct JSON, camelCase or snake_case as users write them).
import { parseGoDuration } from '@keel/attributes';

/** A param by its camelCase or snake_case name. */
export function param(p: Record<string, unknown>, camel: string): unknown {
  if (p[camel] !== undefined) return p[camel];
  return p[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}

/** A duration param (`"1s"`, `{seconds, nanos}`, or a number of seconds) in ms; errors named. */
export function durationParam(
  p: Record<string, unknown>,
  name: string,
  dflt: number,
  errors: string[],
): number {
  const v = param(p, name);
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v === 'string') {
    const d = parseGoDuration(v);
    if (!d || d.ms < 0) {
      errors.push(`${name}: invalid duration ${JSON.stringify(v)}`);
      return dflt;
    }
    return d.ms;
  }
  if (typeof v === 'number' && v >= 0) return v * 1000;
  if (typeof v === 'object') {
    const o = v as { seconds?: unknown; nanos?: unknown };
    return Number(o.seconds ?? 0) * 1000 + Number(o.nanos ?? 0) / 1e6;
  }
  errors.push(`${name}: invalid duration ${JSON.stringify(v)}`);
  return dflt;
}

export function intParam(p: Record<string, unknown>, name: string, dflt: number, errors: string[]): number {
  const v = param(p, name);
  if (v === undefined || v === null) return dflt;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || !Number.isInteger(n)) {
    errors.push(`${name}: must be an integer, got ${JSON.stringify(v)}`);
    return dflt;
  }
  return n;
}

export function stringList(p: Record<string, unknown>, name: string, errors: string[]): string[] {
  const v = param(p, name);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    errors.push(`${name}: must be a list of strings`);
    return [];
  }
  return v as string[];
}
