// Every prometheus-adapter family of the running config, kept across config changes when a
// metric's definition is unchanged (so counters do not reset), with metric expiry.
import { MetricFamily as Family, type MetricFamily, type MetricKind, renderFamilies } from './family.js';

interface Expiry {
  expiryMs: number;
  checkMs: number;
}

export class PromStore {
  private families = new Map<string, MetricFamily>();
  private expiry = new Map<string, Expiry>();
  private timer: NodeJS.Timeout | undefined;
  private checkEveryMs = 0;

  /** `maxSeries`: per family (default MAX_SERIES_PER_FAMILY). */
  constructor(private readonly maxSeries?: number) {}

  /** The family `name` for the next config: the current one when its shape is unchanged. */
  family(
    name: string,
    help: string,
    kind: MetricKind,
    labels: readonly string[],
    bounds: readonly number[],
  ): MetricFamily {
    const old = this.families.get(name);
    if (
      old &&
      old.kind === kind &&
      old.labelNames.join('\u0000') === labels.join('\u0000') &&
      old.bounds.join(',') === bounds.join(',')
    ) {
      return old;
    }
    return new Family(name, help, kind, labels, bounds, this.maxSeries);
  }

  /** Installs the families of a new config (families not listed are dropped) and their expiry. */
  install(families: Iterable<MetricFamily>, expiry: ReadonlyMap<string, Expiry>): void {
    this.families = new Map([...families].map((f) => [f.name, f]));
    this.expiry = new Map(expiry);
    const check = Math.min(...[...this.expiry.values()].map((e) => e.checkMs), Number.POSITIVE_INFINITY);
    if (check !== this.checkEveryMs) {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      this.checkEveryMs = Number.isFinite(check) ? check : 0;
      if (this.checkEveryMs > 0) {
        this.timer = setInterval(() => this.expireNow(Date.now()), this.checkEveryMs);
        this.timer.unref();
      }
    }
  }

  /** Drops series idle past their metric's expiry; returns how many went. */
  expireNow(now: number): number {
    let n = 0;
    for (const [name, e] of this.expiry) {
      const f = this.families.get(name);
      if (f && e.expiryMs > 0) n += f.expire(now - e.expiryMs);
    }
    return n;
  }

  get(name: string): MetricFamily | undefined {
    return this.families.get(name);
  }

  seriesCount(): number {
    let n = 0;
    for (const f of this.families.values()) n += f.series.size;
    return n;
  }

  /** Values dropped because their family was full. */
  droppedCount(): number {
    let n = 0;
    for (const f of this.families.values()) n += f.dropped;
    return n;
  }

  render(): Buffer {
    return renderFamilies([...this.families.values()].sort((a, b) => (a.name < b.name ? -1 : 1)));
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
