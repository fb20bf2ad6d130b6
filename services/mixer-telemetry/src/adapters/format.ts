import { type AttrValue, Duration, toPlain } from '../bag.js';

/** Go's time.Duration text for log output (`1.5ms`, `2.25s`), as Istio's stdio adapter printed it. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const r = (n: number) => String(Math.round(n * 1e6) / 1e6);
  if (Math.abs(ms) < 1) return `${r(ms * 1000)}µs`;
  if (Math.abs(ms) < 1000) return `${r(ms)}ms`;
  return `${r(ms / 1000)}s`;
}

/** A value for a JSON log line or span attribute. */
export function logValue(
  v: AttrValue | undefined,
): string | number | boolean | Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (v instanceof Duration) return goDuration(v.ms);
  return toPlain(v);
}
