import type { Resource } from '@keel/config';

/** One accepted resource and where it came from (a file path, or `kube`). */
export interface AcceptedResource {
  resource: Resource;
  origin: string;
  /** Content version: the Kubernetes resourceVersion, else a hash of the body. */
  version: string;
}

/** `namespace/name`, or the bare name for cluster-scoped kinds (how MCP names resources). */
export function resourceKey(res: Resource): string {
  return res.metadata.namespace ? `${res.metadata.namespace}/${res.metadata.name}` : res.metadata.name;
}

/**
 * The order files are read in (and `keelctl validate` reports duplicates in): directory by
 * directory, names compared with localeCompare. Negative when `a` comes first.
 */
export function comparePathOrder(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = (x[i] as string).localeCompare(y[i] as string);
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

type Definitions = Map<string, AcceptedResource>;

/**
 * The last accepted version of every resource, by collection then key. Only validated resources
 * enter; a rejected update never reaches it, so the previous version stays served.
 * The same resource may be defined by several origins (two files): every definition is kept and
 * the one of the first origin in path order is served, so deleting either file leaves the other's.
 * Not thread-safe in any sense beyond Node's single thread; listeners run synchronously.
 */
export class ResourceStore {
  private readonly byCollection = new Map<string, Map<string, AcceptedResource>>();
  private readonly defs = new Map<string, Map<string, Definitions>>();
  private readonly listeners: Array<() => void> = [];
  private gen = 0;

  /** Incremented on every effective change. */
  get generation(): number {
    return this.gen;
  }

  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** Adds or replaces `entry.origin`'s definition; true when the served resource changed. */
  upsert(collection: string, entry: AcceptedResource): boolean {
    const key = resourceKey(entry.resource);
    let byKey = this.defs.get(collection);
    if (!byKey) {
      byKey = new Map();
      this.defs.set(collection, byKey);
    }
    let d = byKey.get(key);
    if (!d) {
      d = new Map();
      byKey.set(key, d);
    }
    const prev = d.get(entry.origin);
    if (prev && prev.version === entry.version) return false;
    d.set(entry.origin, entry);
    return this.settle(collection, key, d);
  }

  /** Removes `origin`'s definition; true when the served resource changed (another origin's may take over). */
  remove(collection: string, key: string, origin: string): boolean {
    const d = this.defs.get(collection)?.get(key);
    if (!d?.delete(origin)) return false;
    if (d.size === 0) this.defs.get(collection)?.delete(key);
    return this.settle(collection, key, d);
  }

  /** Every origin's definition of one resource, the served one first. */
  definitions(collection: string, key: string): AcceptedResource[] {
    const d = this.defs.get(collection)?.get(key);
    return d ? [...d.values()].sort((a, b) => comparePathOrder(a.origin, b.origin)) : [];
  }

  /** Number of resources defined by more than one origin. */
  duplicates(): number {
    let n = 0;
    for (const byKey of this.defs.values()) for (const d of byKey.values()) if (d.size > 1) n++;
    return n;
  }

  get(collection: string, key: string): AcceptedResource | undefined {
    return this.byCollection.get(collection)?.get(key);
  }

  /** Every (collection, key) `origin` defines (served or not). */
  ownedBy(origin: string): Array<{ collection: string; key: string }> {
    const out: Array<{ collection: string; key: string }> = [];
    for (const [collection, byKey] of this.defs) {
      for (const [key, d] of byKey) if (d.has(origin)) out.push({ collection, key });
    }
    return out;
  }

  entries(collection: string): AcceptedResource[] {
    return [...(this.byCollection.get(collection)?.values() ?? [])];
  }

  collections(): string[] {
    return [...this.byCollection.keys()];
  }

  size(): number {
    let n = 0;
    for (const m of this.byCollection.values()) n += m.size;
    return n;
  }

  /** Serves the first origin's definition; true (and listeners told) when that changed anything. */
  private settle(collection: string, key: string, d: Definitions): boolean {
    let winner: AcceptedResource | undefined;
    for (const e of d.values()) if (!winner || comparePathOrder(e.origin, winner.origin) < 0) winner = e;
    let m = this.byCollection.get(collection);
    const served = m?.get(key);
    if (served === winner) return false;
    if (!winner) m?.delete(key);
    else {
      if (!m) {
        m = new Map();
        this.byCollection.set(collection, m);
      }
      m.set(key, winner);
    }
    this.changed();
    return true;
  }

  private changed(): void {
    this.gen++;
    for (const fn of this.listeners) fn();
  }
}
