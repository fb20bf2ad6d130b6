import { XDS_ORDER } from '@keel/proto';
import { type Answer, Answers, type NameSet, nameSet, type Reply } from './answer.js';
import type { XdsResource } from './resource.js';
import type { Snapshot } from './snapshot.js';

/** A state-of-the-world answer: the full set of requested resources at `version`. */
export interface SotwResponse {
  typeUrl: string;
  version: string;
  resources: readonly XdsResource[];
}

/** What a delta client holds for one type; the stream owns it and may change it between evaluations. */
export interface DeltaState {
  wildcard: boolean;
  subscribed: ReadonlySet<string>;
  /** name -> version the client has. */
  known: ReadonlyMap<string, string>;
}

/** An incremental answer: resources added or changed, and names removed. */
export interface DeltaResponse {
  typeUrl: string;
  systemVersion: string;
  updated: readonly XdsResource[];
  removed: readonly string[];
}

export interface NodeStatus {
  nodeId: string;
  /** Watches registered and not yet cancelled (fired ones included). */
  watches: number;
  lastWatchAt: Date;
}

type Watch =
  | {
      kind: 'sotw';
      typeUrl: string;
      fired: boolean;
      names: NameSet;
      known: string;
      /** Partial mode: the answer the stream's client holds; only what differs from it is sent. */
      held?: Answer;
      cb: (r: Reply, full: Answer) => void;
    }
  | { kind: 'delta'; typeUrl: string; fired: boolean; state: DeltaState; cb: (r: DeltaResponse) => void };

const orderOf = (typeUrl: string): number => {
  const i = XDS_ORDER.indexOf(typeUrl);
  return i < 0 ? XDS_ORDER.length : i;
};

/** Delta answer: resources in scope whose version differs from what the client has, and known names now gone. */
export function deltaAnswer(
  snapshot: Snapshot,
  typeUrl: string,
  state: DeltaState,
): DeltaResponse | undefined {
  if (snapshot.version(typeUrl) === '') return undefined;
  const all = snapshot.resources(typeUrl);
  const inScope = (name: string) => state.wildcard || state.subscribed.has(name);
  const updated: XdsResource[] = [];
  for (const r of state.wildcard ? all.values() : [...state.subscribed].flatMap((n) => all.get(n) ?? [])) {
    if (state.known.get(r.name) !== r.version) updated.push(r);
  }
  const removed = [...state.known.keys()].filter((n) => inScope(n) && !all.has(n));
  if (updated.length === 0 && removed.length === 0) return undefined;
  return { typeUrl, systemVersion: snapshot.version(typeUrl), updated, removed };
}

/**
 * Snapshots per node and the watches streams park on them. Knows nothing of gRPC.
 * A watch fires at most once; the stream cancels it and registers a new one after each client request.
 * Its answers (memo, reply numbering) are its own: two caches in one process share nothing.
 */
export class SnapshotCache {
  private readonly answers = new Answers();
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly watches = new Map<string, Set<Watch>>();
  private readonly status = new Map<string, NodeStatus>();
  private readonly statusListeners = new Set<(s: NodeStatus) => void>();

  /** Publishes a snapshot; parked watches whose answer changed fire, in CDS, EDS, LDS, RDS order. */
  setSnapshot(nodeId: string, snapshot: Snapshot): void {
    const previous = this.snapshots.get(nodeId);
    this.snapshots.set(nodeId, snapshot);
    if (previous === snapshot) return;
    const parked = [...(this.watches.get(nodeId) ?? [])].filter((w) => !w.fired);
    parked.sort((a, b) => orderOf(a.typeUrl) - orderOf(b.typeUrl));
    for (const w of parked) this.evaluate(w, snapshot);
  }

  getSnapshot(nodeId: string): Snapshot | undefined {
    return this.snapshots.get(nodeId);
  }

  /** Forgets the node's snapshot; its watches stay parked until a new one is set. */
  clearSnapshot(nodeId: string): void {
    this.snapshots.delete(nodeId);
  }

  /** SotW watch: `cb` runs (possibly before this returns) once the answer for `names` differs from `knownVersion`. */
  watch(
    nodeId: string,
    typeUrl: string,
    names: readonly string[],
    knownVersion: string,
    cb: (r: SotwResponse) => void,
  ): () => void {
    return this.watchSotw(nodeId, typeUrl, nameSet(names), knownVersion, undefined, cb);
  }

  /**
   * SotW watch on a shared name set. Without `held`, `cb` gets the full answer once its version differs from
   * `knownVersion`; with `held`, once the answer differs from `held`, `cb` gets only the resources `held`
   * lacks (possibly none, e.g. after an unsubscribe) and the full answer the client then holds.
   */
  watchSotw(
    nodeId: string,
    typeUrl: string,
    names: NameSet,
    knownVersion: string,
    held: Answer | undefined,
    cb: (r: Reply, full: Answer) => void,
  ): () => void {
    return this.register(nodeId, {
      kind: 'sotw',
      typeUrl,
      fired: false,
      names,
      known: knownVersion,
      held,
      cb,
    });
  }

  /** Delta watch: `cb` runs once a resource in scope differs from `state.known` or a known one is removed. */
  watchDelta(nodeId: string, typeUrl: string, state: DeltaState, cb: (r: DeltaResponse) => void): () => void {
    return this.register(nodeId, { kind: 'delta', typeUrl, fired: false, state, cb });
  }

  /** The current SotW answer, ignoring versions; undefined without a snapshot serving the type. */
  fetch(nodeId: string, typeUrl: string, names: readonly string[]): SotwResponse | undefined {
    const snapshot = this.snapshots.get(nodeId);
    return snapshot ? this.sotwAnswer(snapshot, typeUrl, names, '\0') : undefined;
  }

  /**
   * SotW answer of `snapshot` for `names` (empty: all), or undefined when the client's `known` version is
   * current. Memoized per snapshot type group: snapshots sharing a group share its answers.
   */
  sotwAnswer(
    snapshot: Snapshot,
    typeUrl: string,
    names: readonly string[],
    known: string,
  ): SotwResponse | undefined {
    const a = this.answers.answer(snapshot, typeUrl, nameSet(names));
    return a && a.version !== known ? a : undefined;
  }

  /** A reply numbered after every answer of this cache (its nonce is unique among them); for the server. */
  reply(typeUrl: string, version: string, resources: readonly XdsResource[]): Reply {
    return this.answers.reply(typeUrl, version, resources);
  }

  /** Nodes with at least one registered watch: the nodes somebody is listening for. */
  nodes(): NodeStatus[] {
    return [...this.status.values()].filter((s) => s.watches > 0).map((s) => ({ ...s }));
  }

  /** Called when a node gains its first watch or loses its last one. Returns an unsubscribe function. */
  onStatus(listener: (status: NodeStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private register(nodeId: string, w: Watch): () => void {
    let set = this.watches.get(nodeId);
    if (!set) {
      set = new Set();
      this.watches.set(nodeId, set);
    }
    set.add(w);
    this.countWatch(nodeId, +1);
    const snapshot = this.snapshots.get(nodeId);
    if (snapshot) this.evaluate(w, snapshot);
    let cancelled = false;
    return () => {
      if (cancelled) return;
      cancelled = true;
      w.fired = true;
      set.delete(w);
      if (set.size === 0) this.watches.delete(nodeId);
      this.countWatch(nodeId, -1);
    };
  }

  private evaluate(w: Watch, snapshot: Snapshot): void {
    if (w.fired) return;
    if (w.kind === 'sotw') {
      const full = this.answers.answer(snapshot, w.typeUrl, w.names);
      if (!full || full.version === (w.held ? w.held.version : w.known)) return;
      w.fired = true;
      w.cb(w.held ? full.diffFrom(w.held) : full, full);
    } else {
      const r = deltaAnswer(snapshot, w.typeUrl, w.state);
      if (r) {
        w.fired = true;
        w.cb(r);
      }
    }
  }

  private countWatch(nodeId: string, delta: number): void {
    const s = this.status.get(nodeId) ?? { nodeId, watches: 0, lastWatchAt: new Date() };
    const before = s.watches;
    s.watches += delta;
    if (delta > 0) s.lastWatchAt = new Date();
    this.status.set(nodeId, s);
    if ((before === 0) !== (s.watches === 0)) {
      for (const l of this.statusListeners) l({ ...s });
    }
    if (s.watches === 0) this.status.delete(nodeId);
  }
}
