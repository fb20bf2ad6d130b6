// The decision cache: answers keyed by the values of the attributes the rules read (or found
// absent), honouring valid_duration and valid_use_count. One map per reference shape.
import {
  type Bag,
  type ReferencedAttributes,
  type ReferenceShape,
  referenceSignature,
} from '@keel/attributes';

interface Entry<T> {
  value: T;
  expiresAt: number;
  usesLeft: number;
}

interface Shape<T> {
  shape: ReferenceShape;
  entries: Map<string, Entry<T>>;
}

export interface CacheStats {
  hits: number;
  misses: number;
  writes: number;
  evictions: number;
}

export class DecisionCache<T> {
  private readonly shapes = new Map<string, Shape<T>>();
  private size = 0;
  readonly stats: CacheStats = { hits: 0, misses: 0, writes: 0, evictions: 0 };

  /** maxEntries bounds memory; maxShapes bounds the per-lookup cost. */
  constructor(
    private readonly maxEntries = 100_000,
    private readonly maxShapes = 64,
  ) {}

  /** A live answer for this bag, consuming one use; undefined on a miss. */
  get(bag: Bag, now: number): T | undefined {
    for (const s of this.shapes.values()) {
      const sig = referenceSignature(s.shape, bag);
      const e = s.entries.get(sig);
      if (!e) continue;
      if (e.expiresAt <= now || e.usesLeft <= 0) {
        s.entries.delete(sig);
        this.size--;
        this.stats.evictions++;
        continue;
      }
      e.usesLeft--;
      this.stats.hits++;
      return e.value;
    }
    this.stats.misses++;
    return undefined;
  }

  set(bag: Bag, refs: ReferencedAttributes, value: T, validMs: number, uses: number, now: number): void {
    if (validMs <= 0 || uses <= 0) return;
    const shape = refs.shape();
    let s = this.shapes.get(shape.id);
    if (!s) {
      if (this.shapes.size >= this.maxShapes) return;
      s = { shape, entries: new Map() };
      this.shapes.set(shape.id, s);
    }
    if (this.size >= this.maxEntries) this.evictOne();
    const sig = referenceSignature(shape, bag);
    if (!s.entries.has(sig)) this.size++;
    s.entries.set(sig, { value, expiresAt: now + validMs, usesLeft: uses });
    this.stats.writes++;
  }

  private evictOne(): void {
    for (const s of this.shapes.values()) {
      const k = s.entries.keys().next();
      if (!k.done) {
        s.entries.delete(k.value);
        this.size--;
        this.stats.evictions++;
        return;
      }
    }
  }

  clear(): void {
    this.shapes.clear();
    this.size = 0;
  }

  entries(): number {
    return this.size;
  }
}
