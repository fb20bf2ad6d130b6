import { randomUUID } from 'node:crypto';
import type { KindInfo } from './kinds.js';

/** A Kubernetes object as JSON; the test server only reads apiVersion, kind and metadata. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  rv: number;
  type: WatchEventType;
  resource: string;
  namespace: string;
  object: KubeObject;
}

/** Resource versions are unique across every test server in the process, like one etcd revision. */
let lastIssuedRv = 0;
function issueRv(): number {
  lastIssuedRv += 1;
  return lastIssuedRv;
}

/** Key of a kind's collection inside the store. */
export function resourceKey(info: KindInfo): string {
  return `${info.group}/${info.version}/${info.plural}`;
}

const clone = <T>(v: T): T => structuredClone(v);

/** In-memory objects plus the event history watches replay from. Not shared between servers. */
export class ObjectStore {
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: StoredEvent[] = [];
  /** A watch from a resourceVersion below this has lost events: it gets 410 Gone. */
  oldestRv: number;
  currentRv: number;
  /** Called after every stored change, in order. */
  onEvent: (ev: StoredEvent) => void = () => {};

  /** A new store takes a fresh resourceVersion: watches from before it was born get 410 Gone. */
  constructor() {
    this.oldestRv = issueRv();
    this.currentRv = this.oldestRv;
  }

  /** Creates or replaces an object; returns the stored copy and whether it was new. */
  put(info: KindInfo, input: KubeObject): { object: KubeObject; created: boolean } {
    const obj = clone(input);
    const meta = { ...(obj.metadata ?? {}) };
    if (!meta.name) throw new Error('metadata.name is required');
    if (info.namespaced) meta.namespace = meta.namespace || 'default';
    else delete meta.namespace;
    const coll = this.collection(info);
    const id = `${meta.namespace ?? ''}/${meta.name}`;
    const prev = coll.get(id);
    const rv = issueRv();
    meta.resourceVersion = String(rv);
    meta.uid = prev?.metadata?.uid ?? meta.uid ?? randomUUID();
    meta.creationTimestamp =
      prev?.metadata?.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    obj.apiVersion = info.group === '' ? info.version : `${info.group}/${info.version}`;
    obj.kind = info.kind;
    obj.metadata = meta;
    coll.set(id, obj);
    this.record(rv, prev ? 'MODIFIED' : 'ADDED', info, obj);
    return { object: clone(obj), created: !prev };
  }

  /** Deletes an object; returns its last state (with the deletion's resourceVersion) or undefined. */
  delete(info: KindInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const coll = this.collection(info);
    const id = `${info.namespaced ? namespace || 'default' : ''}/${name}`;
    const prev = coll.get(id);
    if (!prev) return undefined;
    coll.delete(id);
    const rv = issueRv();
    const gone = clone(prev);
    gone.metadata = { ...gone.metadata, resourceVersion: String(rv) };
    this.record(rv, 'DELETED', info, gone);
    return clone(gone);
  }

  get(info: KindInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.collection(info).get(`${info.namespaced ? namespace || 'default' : ''}/${name}`);
    return obj ? clone(obj) : undefined;
  }

  /** Objects of a kind, in one namespace or all, sorted by namespace/name. */
  list(info: KindInfo, namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    const entries = [...this.collection(info).entries()].sort(([a], [b]) => a.localeCompare(b));
    for (const [, obj] of entries) {
      if (namespace === undefined || obj.metadata?.namespace === namespace) out.push(clone(obj));
    }
    return out;
  }

  /** Retained events after `rv` for a kind (and namespace), oldest first. */
  eventsAfter(rv: number, info: KindInfo, namespace?: string): StoredEvent[] {
    const key = resourceKey(info);
    return this.history.filter(
      (e) => e.rv > rv && e.resource === key && (namespace === undefined || e.namespace === namespace),
    );
  }

  /** Forgets the history: watches from any earlier resourceVersion get 410 Gone. */
  compact(): void {
    this.history = [];
    this.oldestRv = this.currentRv;
  }

  private record(rv: number, type: WatchEventType, info: KindInfo, obj: KubeObject): void {
    this.currentRv = rv;
    const ev: StoredEvent = {
      rv,
      type,
      resource: resourceKey(info),
      namespace: obj.metadata?.namespace ?? '',
      object: clone(obj),
    };
    this.history.push(ev);
    this.onEvent(ev);
  }

  private collection(info: KindInfo): Map<string, KubeObject> {
    const key = resourceKey(info);
    let coll = this.objects.get(key);
    if (!coll) {
      coll = new Map();
      this.objects.set(key, coll);
    }
    return coll;
  }
}

/** Equality-based label selector (`a=b,c!=d,e`); returns undefined when absent. */
export function parseLabelSelector(sel: string | null): ((obj: KubeObject) => boolean) | undefined {
  if (!sel) return undefined;
  const terms = sel
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => {
      const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(t);
      if (!m) return { key: t, op: 'exists', value: '' };
      return { key: m[1]!, op: m[2] === '!=' ? 'ne' : 'eq', value: m[3]! };
    });
  return (obj) => {
    const labels = obj.metadata?.labels ?? {};
    return terms.every((t) => {
      if (t.op === 'exists') return t.key in labels;
      if (t.op === 'ne') return labels[t.key] !== t.value;
      return labels[t.key] === t.value;
    });
  };
}

/** JSON merge patch (RFC 7396). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const base: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}
