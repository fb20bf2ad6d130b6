import type { McpError, McpResource, McpSnapshot, McpWatchInfo } from './types.js';
import { contentKey, toWireResource, versionsOf, type WireRequest, type WireResources } from './wire.js';

const EMPTY: readonly McpResource[] = Object.freeze([]);

/** The ACK/NACK state of one collection on one source stream. */
export interface WatchState {
  collection: string;
  /** The sink asked for incremental responses (updated by every accepted request). */
  sinkIncremental: boolean;
  /** The source allows incremental responses for this collection. */
  allowIncremental: boolean;
  /** Nonce of the response awaiting its ACK/NACK; while set, no response is pushed. */
  pendingNonce?: string;
  lastNonce?: string;
  /** Content key and version of the last response sent; undefined until the first one. */
  sentKey?: string;
  sentVersion?: string;
  /** Versions the sink holds once it applies the last response sent. */
  sentView?: Map<string, string>;
  /** Versions the sink acknowledged: the baseline of incremental responses. */
  acked?: Map<string, string>;
  ackedVersion?: string;
  lastNack?: McpError & { nonce: string; version: string };
}

/** What a request with a nonce meant to a watch. */
export type RequestOutcome =
  | { kind: 'stale'; pendingNonce?: string }
  | { kind: 'ack'; version: string }
  | { kind: 'nack'; version: string; error: McpError };

/** A new watch from a request with no nonce; incremental resumes from its initial_resource_versions. */
export function openWatch(req: WireRequest, collection: string, allowIncremental: boolean): WatchState {
  const initial = req.initial_resource_versions ?? {};
  const sinkIncremental = req.incremental === true;
  const w: WatchState = { collection, sinkIncremental, allowIncremental };
  if (sinkIncremental && Object.keys(initial).length > 0) w.acked = new Map(Object.entries(initial));
  return w;
}

/** Applies an ACK or NACK to the watch; a nonce other than the pending one is stale and changes nothing. */
export function receive(w: WatchState, req: WireRequest): RequestOutcome {
  const nonce = req.response_nonce ?? '';
  if (w.pendingNonce === undefined || nonce !== w.pendingNonce)
    return { kind: 'stale', pendingNonce: w.pendingNonce };
  w.pendingNonce = undefined;
  w.sinkIncremental = req.incremental === true;
  const version = w.sentVersion ?? '';
  if (req.error_detail) {
    const error = { code: req.error_detail.code ?? 2, message: req.error_detail.message ?? '' };
    w.lastNack = { ...error, nonce, version };
    return { kind: 'nack', version, error };
  }
  w.acked = w.sentView;
  w.ackedVersion = version;
  return { kind: 'ack', version };
}

/**
 * The response an open watch owes for `snapshot`, or undefined when it is waiting for an ACK/NACK
 * or the collection's content equals what was last sent (so a NACKed content is not resent).
 * Marks the response as pending under `nonce`.
 */
export function respond(
  w: WatchState,
  snapshot: McpSnapshot | undefined,
  nonce: string,
): WireResources | undefined {
  if (!snapshot || w.pendingNonce !== undefined) return undefined;
  const content = snapshot.collections.get(w.collection) ?? EMPTY;
  const key = contentKey(content);
  if (w.sentKey !== undefined && key === w.sentKey) return undefined;
  const incremental = w.sinkIncremental && w.allowIncremental && w.acked !== undefined;
  let resources: readonly McpResource[] = content;
  let removed: string[] = [];
  if (incremental && w.acked) {
    const acked = w.acked;
    const names = new Set(content.map((r) => r.metadata.name));
    resources = content.filter((r) => acked.get(r.metadata.name) !== r.metadata.version);
    removed = [...acked.keys()].filter((name) => !names.has(name));
  }
  w.pendingNonce = nonce;
  w.lastNonce = nonce;
  w.sentKey = key;
  w.sentVersion = snapshot.version;
  w.sentView = versionsOf(content);
  return {
    system_version_info: snapshot.version,
    collection: w.collection,
    resources: resources.map(toWireResource),
    removed_resources: removed,
    nonce,
    incremental,
  };
}

/** Debug view of a watch. */
export function watchInfo(w: WatchState): McpWatchInfo {
  const info: McpWatchInfo = {
    incremental: w.sinkIncremental && w.allowIncremental,
    pending: w.pendingNonce !== undefined,
    ackedResources: w.acked?.size ?? 0,
  };
  if (w.lastNonce !== undefined) info.nonceSent = w.lastNonce;
  if (w.sentVersion !== undefined) info.versionSent = w.sentVersion;
  if (w.ackedVersion !== undefined) info.ackedVersion = w.ackedVersion;
  if (w.lastNack) info.lastNack = { ...w.lastNack };
  return info;
}
