import { TypeUrl } from '@keel/proto';
import { makeResource, versionOf, type XdsResource } from './resource.js';
import type { Snapshot } from './snapshot.js';
import { type Framed, framedSotw } from './wire.js';

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

/** `names` as a NameSet, reusing `previous` when the list is the same. */
export function sameOrNew(previous: NameSet | undefined, names: readonly string[]): NameSet {
  if (previous && previous.names.length === names.length && previous.names.every((n, i) => n === names[i]))
    return previous;
  return nameSet(names);
}

let replies = 0;

const EMPTY_MEMO_MAX = 10_000;
const emptyAssignments = new Map<string, XdsResource>();

/** `{cluster_name, endpoints: []}`, memoized (up to EMPTY_MEMO_MAX names). */
function emptyAssignment(name: string): XdsResource {
  let r = emptyAssignments.get(name);
  if (!r) {
    r = makeResource(TypeUrl.ClusterLoadAssignment, name, { cluster_name: name, endpoints: [] });
    if (emptyAssignments.size < EMPTY_MEMO_MAX) emptyAssignments.set(name, r);
  }
  return r;
}

/**
 * Framed bytes are held strongly by the most recently used replies up to this many bytes, and only weakly
 * beyond: a reply unique to one proxy (its own CDS) does not keep hundreds of KB alive after it is sent,
 * while replies shared by many streams stay hot. A reply whose bytes were collected frames them again.
 */
const RETAIN_BYTES = 32 * 1024 * 1024;
const retained = new Map<Reply, Framed>();
let retainedBytes = 0;

/** Bytes of framed replies currently held strongly (at most RETAIN_BYTES plus the latest reply). */
export const framedBytesRetained = (): number => retainedBytes;

function retain(reply: Reply, framed: Framed): void {
  if (retained.delete(reply)) retainedBytes -= framed.bytes.length;
  retained.set(reply, framed);
  retainedBytes += framed.bytes.length;
  for (const [oldest, bytes] of retained) {
    if (retainedBytes <= RETAIN_BYTES || oldest === reply) break;
    retained.delete(oldest);
    retainedBytes -= bytes.bytes.length;
  }
}

/**
 * A SotW response shared by every stream sending it: resources, version, and the bytes, encoded once.
 * Its `nonce` is unique to it (replies are numbered in creation order), so a stream sending replies in
 * increasing `seq` can send `framed()` as is; a stream meeting one again appends its own nonce to `encoded()`.
 */
export class Reply {
  readonly seq = ++replies;
  readonly nonce = `r${this.seq}`;
  private bytes?: WeakRef<Framed>;
  private bodyLength = 0;
  private names?: string[];

  constructor(
    readonly typeUrl: string,
    readonly version: string,
    readonly resources: readonly XdsResource[],
  ) {}

  /** The DiscoveryResponse bytes without a nonce. */
  encoded(): Buffer {
    return this.framed().message.subarray(0, this.bodyLength);
  }

  /** The DiscoveryResponse with `nonce`, gRPC-framed; encoded once. */
  framed(): Framed {
    let framed = this.bytes?.deref();
    if (!framed) {
      const built = framedSotw(this.version, this.typeUrl, this.resources, this.nonce);
      framed = built.framed;
      this.bodyLength = built.bodyLength;
      this.bytes = new WeakRef(framed);
    }
    retain(this, framed);
    return framed;
  }

  resourceNames(): string[] {
    this.names ??= this.resources.map((r) => r.name);
    return this.names;
  }
}

/** The full SotW answer of one snapshot for one type and name set; memoized per snapshot. */
export class Answer extends Reply {
  private byName?: Map<string, string>;
  private readonly diffs = new WeakMap<Answer, Reply>();

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
      d = new Reply(
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
 * A type's resource map (shared by snapshots sharing the type's group, see SnapshotOptions.base) -> name
 * set key -> answer (name set keys are long: looked up without concatenation).
 */
const memo = new WeakMap<ReadonlyMap<string, XdsResource>, Map<string, Answer>>();

/** The answer of `snapshot` for `typeUrl` and `names` (empty: all); undefined when the type is not served. */
export function answerFor(snapshot: Snapshot, typeUrl: string, names: NameSet): Answer | undefined {
  const all = snapshot.version(typeUrl);
  if (all === '') return undefined;
  const byName = snapshot.resources(typeUrl);
  let answers = memo.get(byName);
  if (!answers) {
    answers = new Map();
    memo.set(byName, answers);
  }
  let a = answers.get(names.key);
  if (!a) {
    if (names.names.length === 0) a = new Answer(typeUrl, all, [...byName.values()]);
    else {
      // A cluster without endpoints is answered with an empty assignment (as Istio does), so a
      // client stops sending to endpoints of a cluster that is gone instead of keeping them.
      const empty = typeUrl === TypeUrl.ClusterLoadAssignment;
      const resources = names.names.flatMap((n) => byName.get(n) ?? (empty ? [emptyAssignment(n)] : []));
      a = new Answer(typeUrl, versionOf(resources, names.names), resources);
    }
    answers.set(names.key, a);
  }
  return a;
}
