import {
  type ConfigError,
  kindFor,
  type Resource,
  type ResourceLimits,
  validateResource,
} from '@keel/config';
import { contentVersion } from './snapshot.js';
import { type AcceptedResource, type ResourceStore, resourceKey } from './store.js';

/** Told about every validation outcome (metrics, logs, NATS events). */
export interface IngestReporter {
  accepted(res: Resource, origin: string): void;
  rejected(errors: ConfigError[], origin: string): void;
  /** The same resource is defined more than once; `defs[0]` is the one served (first in path order). */
  duplicate?(defs: Array<Pick<AcceptedResource, 'resource' | 'origin'>>): void;
  /** An origin has errors, so resources it no longer lists are kept until it is valid again. */
  kept?(origin: string, resources: number): void;
}

export interface IngestSummary {
  accepted: number;
  rejected: number;
  removed: number;
}

/**
 * Validates resources before they reach the store. A rejected resource never replaces the
 * accepted version of the same kind/namespace/name; the other resources of the same input apply.
 */
export class Ingestor {
  constructor(
    private readonly store: ResourceStore,
    private readonly reporter: IngestReporter,
    private readonly limits?: ResourceLimits,
  ) {}

  /**
   * Applies the complete set of documents one origin (a file) now holds. Resources the origin
   * no longer defines are removed, unless a document could not be parsed at all (then nothing is
   * removed: the broken document may be one of them).
   */
  applyOriginSet(origin: string, resources: Resource[], parseErrors: ConfigError[]): IngestSummary {
    const summary: IngestSummary = { accepted: 0, rejected: 0, removed: 0 };
    if (parseErrors.length > 0) {
      this.reporter.rejected(parseErrors, origin);
      summary.rejected += parseErrors.length;
    }
    const keep = new Map<string, Resource>();
    for (const res of resources) {
      const info = kindFor(res.apiVersion, res.kind);
      if (info) {
        const id = `${info.collection}|${resourceKey(this.defaulted(res, info.clusterScoped))}`;
        const first = keep.get(id);
        if (first) {
          // Twice in one file: the first definition stands, as `keelctl validate` reports it.
          this.reporter.duplicate?.([
            { resource: first, origin },
            { resource: res, origin },
          ]);
          continue;
        }
        keep.set(id, res);
      }
      if (this.applyOne(origin, res)) summary.accepted++;
      else summary.rejected++;
    }
    // Only a file that is entirely valid removes what it no longer holds: one caught half written
    // (or broken by an edit) keeps the last good version of every resource it held.
    const owned = this.store
      .ownedBy(origin)
      .filter(({ collection, key }) => !keep.has(`${collection}|${key}`));
    if (summary.rejected === 0) {
      for (const { collection, key } of owned) {
        this.store.remove(collection, key, origin);
        summary.removed++;
      }
    } else if (owned.length > 0) this.reporter.kept?.(origin, owned.length);
    return summary;
  }

  /** Validates and stores one resource; false (and reported) when rejected. */
  applyOne(origin: string, input: Resource): boolean {
    const info = kindFor(input.apiVersion, input.kind);
    const res = info ? this.defaulted(input, info.clusterScoped) : input;
    const result = validateResource(res, this.limits ? { limits: this.limits } : {});
    if (!result.ok || !info) {
      this.reporter.rejected(result.ok ? [] : result.errors, origin);
      return false;
    }
    const version =
      res.metadata.resourceVersion ??
      contentVersion([res.metadata.labels, res.metadata.annotations, res.body]);
    this.store.upsert(info.collection, { resource: result.value, origin, version });
    this.reporter.accepted(result.value, origin);
    const defs = this.store.definitions(info.collection, resourceKey(result.value));
    if (defs.length > 1) this.reporter.duplicate?.(defs);
    return true;
  }

  /** Removes everything an origin defined (its file was deleted). */
  removeOrigin(origin: string): number {
    let n = 0;
    for (const { collection, key } of this.store.ownedBy(origin))
      if (this.store.remove(collection, key, origin)) n++;
    return n;
  }

  /** Removes one resource an incremental source reports deleted. */
  removeOne(origin: string, res: Resource): boolean {
    const info = kindFor(res.apiVersion, res.kind);
    if (!info) return false;
    return this.store.remove(info.collection, resourceKey(this.defaulted(res, info.clusterScoped)), origin);
  }

  /**
   * Namespaced kinds without a namespace land in `default`, as `kubectl apply` would put them;
   * cluster-scoped kinds drop any namespace (MCP names them by bare name).
   */
  private defaulted(res: Resource, clusterScoped: boolean): Resource {
    if (clusterScoped) {
      if (res.metadata.namespace === undefined) return res;
      const { namespace: _ns, ...meta } = res.metadata;
      return { ...res, metadata: meta };
    }
    if (res.metadata.namespace) return res;
    return { ...res, metadata: { ...res.metadata, namespace: 'default' } };
  }
}
