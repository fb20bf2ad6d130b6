import { TypeUrl } from '@keel/proto';
import { makeResource, versionOf, type XdsResource } from './resource.js';
import type { Snapshot } from './snapshot.js';

/** Types whose SotW responses may carry only changed resources (clients keep the names not mentioned). */
export const PARTIAL_TYPES: ReadonlySet<string> = new Set([
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.RouteConfiguration,
]);

/** A requested name list with its memo key; streams reuse one while a client keeps asking the same names. */
export interface NameSet {
  readonly names: readonly string[];
  readonly key: string;
}

export const WILDCARD: NameSet = Object.freeze({ names: Object.freeze([]) as readonly string[], key: '' });

export function nameSet(names: readonly string[]): NameSet {
  return names.length === 0 ? WILDCARD : { names: [...names], key: names.join('\n') };
}

const sameNames = (set: NameSet, names: readonly string[]): boolean =>
  set.names.length === names.length && set.names.every((n, i) => n === names[i]);

/**
 * The name sets of one server's streams, shared: streams asking the same names (every sidecar of a scope
 * asks for the same thousands of EDS names) hold one list and one key, not one copy each decoded from their
 * requests. Held weakly: a set no stream holds any more is dropped.
 */
export class NameSets {
  private readonly held = new Map<string, WeakRef<NameSet>>();
  private readonly dropped = new FinalizationRegistry<string>((key) => {
    if (this.held.get(key)?.deref() === undefined) this.held.delete(key);
  });

  /** `names` as a shared NameSet, `previous` when the list is the same. */
  of(previous: NameSet | undefined, names: readonly string[]): NameSet {
    if (previous && sameNames(previous, names)) return previous;
    if (names.length === 0) return WILDCARD;
    const key = names.join('\n');
    let set = this.held.get(key)?.deref();
    if (!set) {
      set = { names: [...names], key };
      this.held.set(key, new WeakRef(set));
      this.dropped.register(set, key);
    }
    return set;
  }

  /** Distinct name sets held (for tests). */
  get size(): number {
    return this.held.size;
  }
}

/** Empty assignments memoized per cache, up to this many names. */
const EMPTY_MEMO_MAX = 10_000;

/**
 * A SotW response shared by every stream sending it: type, version and resources. Its `nonce` is unique
 * among the replies of its cache (numbered in creation order by the cache's Answers), so a stream sending
 * replies in increasing `seq` can use it as is; a stream meeting one again appends its own nonce. Knows
 * nothing of bytes: the server encodes and frames a reply once for all its streams (see frames.ts).
 */
export class Reply {
  readonly nonce: string;
  private names?: string[];

  constructor(
    readonly seq: number,
    readonly typeUrl: string,
    readonly version: string,
    readonly resources: readonly XdsResource[],
  ) {
    this.nonce = `r${seq}`;
  }

  resourceNames(): string[] {
    this.names ??= this.resources.map((r) => r.name);
    return this.names;
  }
}

/** The full SotW answer of one snapshot for one type and name set; memoized per snapshot by its Answers. */
export class Answer extends Reply {
  private byName?: Map<string, string>;
  private readonly diffs = new WeakMap<Answer, Reply>();

  constructor(
    private readonly owner: Answers,
    typeUrl: string,
    version: string,
    resources: readonly XdsResource[],
  ) {
    super(owner.nextSeq(), typeUrl, version, resources);
  }

  /** name -> version of every resource in the answer. */
  versions(): ReadonlyMap<string, string> {
    this.byName ??= new Map(this.resources.map((r) => [r.name, r.version]));
    return this.byName;
  }

  /** The resources of this answer a client holding `held` lacks (absent there, or another version). */
  diffFrom(held: Answer): Reply {
    let d = this.diffs.get(held);
    if (!d) {
      const had = held.versions();
      d = this.owner.reply(
        this.typeUrl,
        this.version,
        this.resources.filter((r) => had.get(r.name) !== r.version),
      );
      this.diffs.set(held, d);
    }
    return d;
  }
}

/**
 * The answers of one SnapshotCache: their memo, the reply numbering (nonces) and the empty-assignment memo.
 * Nothing here is shared between caches: two caches in one process number and memoize independently.
 */
export class Answers {
  private seq = 0;
  private readonly emptyAssignments = new Map<string, XdsResource>();
  /**
   * A type's resource map (shared by snapshots sharing the type's group, see SnapshotOptions.base) -> name
   * set key -> answer (name set keys are long: looked up without concatenation).
   */
  private readonly memo = new WeakMap<ReadonlyMap<string, XdsResource>, Map<string, Answer>>();

  /** The next reply number; replies of this cache are numbered in creation order from 1. */
  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** A reply numbered after every reply of this cache so far. */
  reply(typeUrl: string, version: string, resources: readonly XdsResource[]): Reply {
    return new Reply(this.nextSeq(), typeUrl, version, resources);
  }

  /** The answer of `snapshot` for `typeUrl` and `names` (empty: all); undefined when the type is not served. */
  answer(snapshot: Snapshot, typeUrl: string, names: NameSet): Answer | undefined {
    const all = snapshot.version(typeUrl);
    if (all === '') return undefined;
    const byName = snapshot.resources(typeUrl);
    let answers = this.memo.get(byName);
    if (!answers) {
      answers = new Map();
      this.memo.set(byName, answers);
    }
    let a = answers.get(names.key);
    if (!a) {
      if (names.names.length === 0) a = new Answer(this, typeUrl, all, [...byName.values()]);
      else {
        // A cluster without endpoints is answered with an empty assignment (as Istio does), so a
        // client stops sending to endpoints of a cluster that is gone instead of keeping them.
        const empty = typeUrl === TypeUrl.ClusterLoadAssignment;
        const resources = names.names.flatMap(
          (n) => byName.get(n) ?? (empty ? [this.emptyAssignment(n)] : []),
        );
        a = new Answer(this, typeUrl, versionOf(resources, names.names), resources);
      }
      answers.set(names.key, a);
    }
    return a;
  }

  /** `{cluster_name, endpoints: []}`, memoized (up to EMPTY_MEMO_MAX names). */
  private emptyAssignment(name: string): XdsResource {
    let r = this.emptyAssignments.get(name);
    if (!r) {
      r = makeResource(TypeUrl.ClusterLoadAssignment, name, { cluster_name: name, endpoints: [] });
      if (this.emptyAssignments.size < EMPTY_MEMO_MAX) this.emptyAssignments.set(name, r);
    }
    return r;
  }
}
