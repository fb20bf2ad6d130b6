// Prometheus adapter storage: one family per configured metric, series keyed by their label values.
// Hand-written rather than prom-client: the hot path updates series by a precomputed key with no
// label object per entry, and a scrape of 10,000 series must render in well under 100 ms.
import type { AdapterParams } from '@keel/config';

export type MetricKind = 'COUNTER' | 'GAUGE' | 'DISTRIBUTION';

export interface Series {
  readonly labels: readonly string[];
  /** `name="value",...` as UTF-8, encoded once when the series is created (scrapes copy it). */
  readonly text: Buffer;
  value: number;
  /** DISTRIBUTION only: per-bucket counts (not cumulative), then +Inf in the last slot. */
  buckets?: Float64Array;
  sum: number;
  count: number;
  /** ms since epoch of the last update (metric expiry). */
  touched: number;
}

/** Label values and keys joined with a byte that cannot appear in a valid UTF-8 label value. */
export const KEY_SEP = '\u0000';

/** Series one family may hold; label sets beyond it are dropped (counted), so a flood of distinct values cannot exhaust memory. */
export const MAX_SERIES_PER_FAMILY = 200_000;

export class MetricFamily {
  readonly series = new Map<string, Series>();
  /** Values dropped because the family was full. */
  dropped = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: MetricKind,
    readonly labelNames: readonly string[],
    /** Upper bounds, ascending (DISTRIBUTION). */
    readonly bounds: readonly number[] = [],
    readonly maxSeries = MAX_SERIES_PER_FAMILY,
  ) {}

  private get(key: string, labels: readonly string[], now: number): Series | undefined {
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= this.maxSeries) {
        this.dropped++;
        return undefined;
      }
      s = {
        labels: [...labels],
        text: labelText(this.labelNames, labels),
        value: 0,
        sum: 0,
        count: 0,
        touched: now,
      };
      if (this.kind === 'DISTRIBUTION') s.buckets = new Float64Array(this.bounds.length + 1);
      this.series.set(key, s);
    }
    s.touched = now;
    return s;
  }

  /** Applies one value to the series with `labels` (whose join is `key`). */
  record(key: string, labels: readonly string[], value: number, now: number): void {
    const s = this.get(key, labels, now);
    if (!s) return;
    if (this.kind === 'COUNTER') s.value += value;
    else if (this.kind === 'GAUGE') s.value = value;
    else {
      const b = this.bounds;
      let i = 0;
      while (i < b.length && value > b[i]!) i++;
      s.buckets![i]!++;
      s.sum += value;
      s.count++;
    }
  }

  /** Drops series not updated since `before`; returns how many. */
  expire(before: number): number {
    let n = 0;
    for (const [k, s] of this.series) {
      if (s.touched < before) {
        this.series.delete(k);
        n++;
      }
    }
    return n;
  }
}

function escapeLabel(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

function labelText(names: readonly string[], values: readonly string[]): Buffer {
  let out = '';
  for (let i = 0; i < names.length; i++)
    out += `${i ? ',' : ''}${names[i]}="${escapeLabel(values[i] ?? '')}"`;
  return Buffer.from(out);
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function fmt(n: number): string {
  if (Number.isFinite(n)) return String(n);
  return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
}

/** Appends ASCII/UTF-8 pieces into one growing Buffer: a scrape of 10,000 series is ~10 MB. */
class Out {
  buf: Buffer;
  off = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(size, 1024));
  }
  private room(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }
  /** `s` must be ASCII (names, numbers, fixed syntax). */
  ascii(s: string): void {
    this.room(s.length);
    this.off += this.buf.write(s, this.off, 'latin1');
  }
  bytes(b: Buffer): void {
    this.room(b.length);
    this.off += b.copy(this.buf, this.off);
  }
}

/**
 * Renders families in the Prometheus text exposition format 0.0.4. Each series' label text was
 * encoded once when the series was created; rendering copies bytes and formats numbers.
 */
export function renderFamilies(families: Iterable<MetricFamily>): Buffer {
  const list = [...families];
  let estimate = 0;
  for (const f of list) {
    const lines = f.kind === 'DISTRIBUTION' ? f.bounds.length + 3 : 1;
    for (const s of f.series.values()) estimate += (s.text.length + f.name.length + 48) * lines;
  }
  const out = new Out(estimate + 4096);
  for (const f of list) {
    out.bytes(Buffer.from(`# HELP ${f.name} ${escapeHelp(f.help || f.name)}\n`));
    out.ascii(
      `# TYPE ${f.name} ${f.kind === 'COUNTER' ? 'counter' : f.kind === 'GAUGE' ? 'gauge' : 'histogram'}\n`,
    );
    const les = f.bounds.map((b) => `le="${fmt(b)}"} `);
    const bucket = `${f.name}_bucket{`;
    for (const s of f.series.values()) {
      const labels = s.text;
      const empty = labels.length === 0;
      if (f.kind !== 'DISTRIBUTION') {
        out.ascii(empty ? `${f.name} ` : `${f.name}{`);
        if (!empty) {
          out.bytes(labels);
          out.ascii('} ');
        }
        out.ascii(`${fmt(s.value)}\n`);
        continue;
      }
      let cum = 0;
      for (let i = 0; i <= les.length; i++) {
        cum += s.buckets![i]!;
        out.ascii(bucket);
        if (!empty) {
          out.bytes(labels);
          out.ascii(',');
        }
        out.ascii(i < les.length ? `${les[i]}${cum}\n` : `le="+Inf"} ${s.count}\n`);
      }
      for (const [suffix, v] of [
        ['_sum', fmt(s.sum)],
        ['_count', String(s.count)],
      ] as const) {
        out.ascii(empty ? `${f.name}${suffix} ` : `${f.name}${suffix}{`);
        if (!empty) {
          out.bytes(labels);
          out.ascii('} ');
        }
        out.ascii(`${v}\n`);
      }
    }
  }
  return out.buf.subarray(0, out.off);
}

/** The prometheus adapter's `buckets` param, as Galley serves it (camelCase only). */
export type BucketsSpec = NonNullable<NonNullable<AdapterParams['prometheus']['metrics']>[number]['buckets']>;

const MAX_BUCKETS = 1000;

/** Bucket upper bounds from the prometheus adapter's `buckets` param (Istio's rules for each form). */
export function bucketBounds(
  spec: BucketsSpec | undefined,
): { ok: true; value: number[] } | { ok: false; errors: string } {
  const fail = (e: string) => ({ ok: false as const, errors: e });
  if (!spec || Object.keys(spec).length === 0) {
    return { ok: true, value: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] };
  }
  const ex = spec.explicitBuckets;
  if (ex) {
    const b = (ex.bounds ?? []).map(Number);
    if (b.length === 0 || b.length > MAX_BUCKETS)
      return fail('explicit_buckets.bounds: 1 to 1000 bounds required');
    for (let i = 1; i < b.length; i++)
      if (!(b[i]! > b[i - 1]!)) return fail('explicit_buckets.bounds must increase');
    return { ok: true, value: b };
  }
  const lin = spec.linearBuckets;
  if (lin) {
    const l = lin as Record<string, number>;
    const n = Number(l.numFiniteBuckets ?? 0);
    const width = Number(l.width ?? 0);
    const offset = Number(l.offset ?? 0);
    if (!Number.isInteger(n) || n <= 0 || n > MAX_BUCKETS)
      return fail('linear_buckets.num_finite_buckets must be 1..1000');
    if (!(width > 0)) return fail('linear_buckets.width must be > 0');
    return { ok: true, value: Array.from({ length: n + 1 }, (_, i) => offset + i * width) };
  }
  const exp = spec.exponentialBuckets;
  if (exp) {
    const e = exp as Record<string, number>;
    const n = Number(e.numFiniteBuckets ?? 0);
    const growth = Number(e.growthFactor ?? 0);
    const scale = Number(e.scale ?? 0);
    if (!Number.isInteger(n) || n <= 0 || n > MAX_BUCKETS)
      return fail('exponential_buckets.num_finite_buckets must be 1..1000');
    if (!(growth > 1)) return fail('exponential_buckets.growth_factor must be > 1');
    if (!(scale > 0)) return fail('exponential_buckets.scale must be > 0');
    return { ok: true, value: Array.from({ length: n + 1 }, (_, i) => scale * growth ** i) };
  }
  return fail('buckets: one of explicit_buckets, linear_buckets, exponential_buckets is required');
}
