import { parseDuration } from '@keel/runtime';

/** A config duration (`10m`, `1.5s`; a bare number is seconds, as in proto JSON) in ms, or undefined. */
export function parseDurationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
  if (typeof v !== 'string' || v === '') return undefined;
  const r = parseDuration(/^\d+(\.\d+)?$/.test(v.trim()) ? `${v.trim()}s` : v);
  return r.ok ? r.value : undefined;
}
