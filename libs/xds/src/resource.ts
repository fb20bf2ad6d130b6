import { createHash } from 'node:crypto';
import { encodeMessage, typeNameOf } from '@keel/proto';

/** One xDS resource, encoded once: every stream sends `encoded` as the Any value, never re-encoding `body`. */
export interface XdsResource {
  readonly name: string;
  readonly typeUrl: string;
  /** Short hash of `encoded`: equal content, equal version. */
  readonly version: string;
  /** protobufjs object form (`.proto` field names), as given to makeResource. */
  readonly body: object;
  /** The bytes of the Any value (the encoded message). */
  readonly encoded: Uint8Array;
}

/** Short, stable content hash (16 hex digits of SHA-256). */
export function shortHash(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** Encodes `body` as the message of `typeUrl` once; throws on a body protobufjs cannot encode (a bug in the caller). */
export function makeResource(typeUrl: string, name: string, body: object): XdsResource {
  const encoded = encodeMessage(typeNameOf(typeUrl), body);
  return Object.freeze({ name, typeUrl, version: shortHash(encoded), body, encoded });
}

/**
 * A resource whose message is `head` followed by each of `parts` as a length-delimited entry of field `field`
 * (protobuf accepts fields in any order and merges repeated ones in order: the encoding of that message with
 * those entries appended), held as those parts: the server frames it by writing the parts straight into the
 * response, and the whole message (`encoded`) is only made when something reads it. A RouteConfiguration of
 * thousands of cached VirtualHost encodings is then neither copied nor held a second time per scope.
 */
export class RepeatedResource implements XdsResource {
  private bytes?: Uint8Array;
  /** Byte length of `encoded`. */
  readonly length: number;

  constructor(
    readonly typeUrl: string,
    readonly name: string,
    readonly body: object,
    private readonly head: Uint8Array,
    private readonly field: number,
    readonly parts: readonly Uint8Array[],
    /** A content hash the caller derived (equal content, equal version). */
    readonly version: string,
  ) {
    const tag = (field << 3) | 2;
    let length = head.length;
    for (const p of parts) length += varintLength(tag) + varintLength(p.length) + p.length;
    this.length = length;
  }

  get encoded(): Uint8Array {
    if (!this.bytes) {
      const bytes = Buffer.allocUnsafe(this.length);
      this.writeTo(bytes, 0);
      this.bytes = bytes;
    }
    return this.bytes;
  }

  /** Writes the message at `at` of `buf` (which must have `length` bytes free there); returns the end. */
  writeTo(buf: Uint8Array, at: number): number {
    if (this.bytes) {
      buf.set(this.bytes, at);
      return at + this.length;
    }
    const tag = (this.field << 3) | 2;
    buf.set(this.head, at);
    let end = at + this.head.length;
    for (const p of this.parts) {
      end = writeVarint(buf, writeVarint(buf, end, tag), p.length);
      buf.set(p, end);
      end += p.length;
    }
    return end;
  }
}

/** Byte length of a resource's message, without making a RepeatedResource's bytes. */
export const encodedLength = (r: Pick<XdsResource, 'encoded'>): number =>
  r instanceof RepeatedResource ? r.length : r.encoded.length;

/** Writes a resource's message at `at` of `buf`; returns the end. */
export function writeEncoded(buf: Uint8Array, at: number, r: Pick<XdsResource, 'encoded'>): number {
  if (r instanceof RepeatedResource) return r.writeTo(buf, at);
  buf.set(r.encoded, at);
  return at + r.encoded.length;
}

export const varintLength = (n: number): number =>
  n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;

export function writeVarint(buf: Uint8Array, at: number, n: number): number {
  let v = n;
  let i = at;
  while (v >= 0x80) {
    buf[i++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[i++] = v;
  return i;
}

/** The `name=version` pair versions are hashed from. */
export const pairOf = (r: XdsResource): string => `${r.name}=${r.version}`;

/** Version of a set of resources: hash of sorted `name=version` pairs, plus the requested names when given. */
export function versionOf(resources: Iterable<XdsResource>, requested?: readonly string[]): string {
  const pairs = [...resources].map(pairOf).sort();
  return versionOfPairs(pairs, requested);
}

/** `versionOf` from the already sorted pairs. */
export function versionOfPairs(sortedPairs: readonly string[], requested?: readonly string[]): string {
  const names = requested ? [...requested].sort().join(',') : '*';
  return shortHash(`${names}\n${sortedPairs.join('\n')}`);
}
