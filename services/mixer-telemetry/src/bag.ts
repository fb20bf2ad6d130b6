// Attribute values and bags for the telemetry pipeline: @keel/attributes' types, plus the
// conversions adapters need (labels, numbers, JSON).
import { type AttributeValue, type Bag, Duration, formatIp, parseIp } from '@keel/attributes';

export { type Bag, Duration, parseIp };
export type AttrValue = AttributeValue;

/** A bag over a Map the caller fills; absent ('' or undefined) values are not stored. */
export class MapBag implements Bag {
  readonly values = new Map<string, AttrValue>();
  get(name: string): AttrValue | undefined {
    return this.values.get(name);
  }
  names(): Iterable<string> {
    return this.values.keys();
  }
  set(name: string, value: AttrValue | undefined): this {
    if (value !== undefined && value !== '') this.values.set(name, value);
    return this;
  }
}

/** A value as JSON-friendly text/number/bool (log entries, span tags). */
export function toPlain(v: AttrValue): string | number | boolean | Record<string, string> {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof Uint8Array) return formatIp(v);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Duration) return `${v.ms}ms`;
  return Object.fromEntries(v);
}

/** A value as a Prometheus label / dimension string. */
export function toLabel(v: AttrValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const p = toPlain(v);
  return typeof p === 'object' ? JSON.stringify(p) : String(p);
}

/** A value as a metric sample number (durations in seconds), or undefined. */
export function toNumber(v: AttrValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const n = Number(v);
    return v.trim() !== '' && Number.isFinite(n) ? n : undefined;
  }
  if (v instanceof Duration) return v.ms / 1000;
  if (v instanceof Date) return v.getTime() / 1000;
  return undefined;
}
