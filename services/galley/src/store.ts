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
 * The last accepted version of every resource, by collection then key. Only validated resources
 * enter; a rejected update never reaches it, so the previous version stays served.
 * Not thread-safe in any sense beyond Node's single thread; listeners run synchronously.
 */
export class ResourceStore {
  private readonly byCollection = new Map<string, Map<string, AcceptedResource>>();
  private readonly listeners: Array<() => void> = [];
  private gen = 0;

  /** Incremented on every effective change. */
  get generation(): number {
    return this.gen;
  }

  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  upsert(collection: string, entry: AcceptedResource): boolean {
    let m = this.byCollection.get(collection);
    if (!m) {
      m = new Map();
      this.byCollection.set(collection, m);
    }
    const key = resourceKey(entry.resource);
    const prev = m.get(key);
    if (prev && prev.version === entry.version && prev.origin === entry.origin) return false;
    m.set(key, entry);
    this.changed();
    return true;
  }

  /** Removes a resource if `origin` owns it (another file may have redefined it since). */
  remove(collection: string, key: string, origin: string): boolean {
    const m = this.byCollection.get(collection);
    const prev = m?.get(key);
    if (!m || !prev || prev.origin !== origin) return false;
    m.delete(key);
    this.changed();
    return true;
  }

  get(collection: string, key: string): AcceptedResource | undefined {
    return this.byCollection.get(collection)?.get(key);
  }

  /** Every (collection, key) owned by `origin`. */
  ownedBy(origin: string): Array<{ collection: string; key: string }> {
    const out: Array<{ collection: string; key: string }> = [];
    for (const [collection, m] of this.byCollection) {
      for (const [key, e] of m) if (e.origin === origin) out.push({ collection, key });
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

  private changed(): void {
    this.gen++;
    for (const fn of this.listeners) fn();
  }
}
