// Reading adapter params. Galley serves them normalized (libs/config validate/mixer-normalize.ts:
// camelCase names, enum names, durations as google.protobuf.Duration JSON), so one spelling is read.
import { parseGoDuration } from '@keel/attributes';

/** A param by its (camelCase) name. */
export function param(p: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(p, name) ? p[name] : undefined;
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
