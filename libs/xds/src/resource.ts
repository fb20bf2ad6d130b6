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
 * A resource whose message bytes the caller encoded (e.g. spliced from cached parts): `encoded` must be a
 * valid encoding of `body` as the message of `typeUrl`; field order may differ from protobufjs's. `version`:
 * a content hash the caller derived (e.g. from its parts' hashes; equal content, equal version), by default
 * the hash of `encoded`.
 */
export function encodedResource(
  typeUrl: string,
  name: string,
  body: object,
  encoded: Uint8Array,
  version = shortHash(encoded),
): XdsResource {
  return Object.freeze({ name, typeUrl, version, body, encoded });
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
