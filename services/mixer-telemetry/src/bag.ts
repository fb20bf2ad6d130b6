// Attribute values and bags as the telemetry pipeline sees them (istio-1.4-spec 4.4 value types).

/** DURATION values: milliseconds (fractions allowed). */
export class Duration {
  constructor(readonly ms: number) {}
  get seconds(): number {
    return this.ms / 1000;
  }
  toString(): string {
    return `${this.ms}ms`;
  }
}

/**
 * One attribute value: STRING string, INT64/DOUBLE number, BOOL boolean, IP_ADDRESS Uint8Array,
 * TIMESTAMP Date, DURATION Duration, STRING_MAP ReadonlyMap.
 */
export type AttrValue = string | number | boolean | Uint8Array | Date | Duration | ReadonlyMap<string, string>;

/** A read-only attribute bag: `undefined` means absent. */
export interface Bag {
  get(name: string): AttrValue | undefined;
  names(): Iterable<string>;
}

/** A bag over a Map the caller fills; the pipeline never mutates it. */
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

/** Dotted-quad / colon-hex text of an IP_ADDRESS value. */
export function ipText(v: Uint8Array): string {
  if (v.length === 4) return v.join('.');
  const parts: string[] = [];
  for (let i = 0; i + 1 < v.length; i += 2) parts.push(((v[i]! << 8) | v[i + 1]!).toString(16));
  return parts.join(':');
}

/** Parses an IPv4 or IPv6 literal into IP_ADDRESS bytes; undefined when it is not one. */
export function parseIp(text: string): Uint8Array | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const b = v4.slice(1).map(Number);
    return b.every((x) => x <= 255) ? Uint8Array.from(b) : undefined;
  }
  if (!text.includes(':')) return undefined;
  const [head, tail, extra] = text.split('::');
  if (extra !== undefined) return undefined;
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...Array(Math.max(fill, 0)).fill('0'), ...t];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = Number.parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 255;
  });
  return out;
}

/** A value as JSON-friendly text/number/bool (log entries, span tags). */
export function toPlain(v: AttrValue): string | number | boolean | Record<string, string> {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof Uint8Array) return ipText(v);
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
  if (v instanceof Duration) return v.seconds;
  if (v instanceof Date) return v.getTime() / 1000;
  return undefined;
}
