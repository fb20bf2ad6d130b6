import { TypeUrl } from '@keel/proto';
import { type Answer, type NameSet, PARTIAL_TYPES, type Reply } from './answer.js';
import type { XdsResource } from './resource.js';
import { type StreamSession, TypeState } from './session.js';
import { type SotwRequest, withNonce } from './wire.js';

/** SotW per-type state: the shared ACK/NACK machine plus the name set asked and, for EDS/RDS, the answer held. */
export class SotwTypeState extends TypeState {
  nameSet?: NameSet;
  /** EDS/RDS by name: the full answer the client has been sent (partial responses are diffs against it). */
  held?: Answer;
  /** Highest Reply.seq sent: a reply not above it gets a stream-unique nonce. */
  lastSeq = 0;
  /** LDS/CDS only: the first request named nothing, so an empty list means every resource. */
  wildcard = false;
  /** Version of the snapshot answer last handled (what was sent may add held resources to it). */
  answered?: string;
  /** Named LDS/CDS: the last version sent of each name, served again while the name is missing. */
  sent?: Map<string, XdsResource>;
  /** The version the client reported in its first request (it holds resources from before). */
  clientVersion = '';
}

/** Types a client may subscribe to as a whole (by an empty first request); others are named. */
const WILDCARD_TYPES: ReadonlySet<string> = new Set([TypeUrl.Listener, TypeUrl.Cluster]);

/**
 * Handles one DiscoveryRequest: stale nonces are ignored; otherwise the ACK or NACK is recorded and the
 * type's watch is re-armed against what was last sent, so a NACKed version is never resent.
 * EDS and RDS requests by name get partial responses: only resources changed or newly subscribed.
 * Subscription rules of the xDS protocol: an empty list is a wildcard only for LDS and CDS and only
 * when the stream's first request for the type was empty; otherwise (RDS and EDS always) an empty list
 * unsubscribes from everything. The first request of a stream is always answered with the current
 * resources, whatever version it reports (the client may hold that version from another server, or
 * from before a restart, with resources since lost).
 */
export function onSotwRequest(s: StreamSession<SotwTypeState>, req: SotwRequest): void {
  const typeUrl = req.type_url;
  const first = !s.types.has(typeUrl);
  if (first) s.types.set(typeUrl, new SotwTypeState());
  const state = s.types.get(typeUrl)!;
  s.ctx.callbacks.onRequest?.(s.info(), typeUrl, req);
  const verdict = first
    ? 'initial'
    : s.acknowledge(typeUrl, state, req.response_nonce, req.version_info, req.error_detail);
  if (verdict === 'stale') return;
  const names = req.resource_names ?? [];
  if (first) {
    state.wildcard = WILDCARD_TYPES.has(typeUrl) && names.length === 0;
    state.clientVersion = req.version_info ?? '';
  } else if (names.length > 0) state.wildcard = false;
  if (names.length === 0 && !state.wildcard) {
    // Unsubscribed from every resource of the type: nothing to send until names come back, and
    // then the full answer for them (the client dropped what it held).
    state.cancel?.();
    state.cancel = undefined;
    state.nameSet = s.ctx.names.of(state.nameSet, names);
    state.names = [];
    state.held = undefined;
    state.versionSent = '';
    state.answered = undefined;
    state.sent = undefined;
    return;
  }
  state.nameSet = s.ctx.names.of(state.nameSet, names);
  state.names = state.nameSet.names as string[];
  if (!isPartial(typeUrl, state.nameSet)) state.held = undefined;
  arm(s, state, typeUrl, first || state.versionSent === '' ? '' : (state.answered ?? state.versionSent));
}

const isPartial = (typeUrl: string, names: NameSet) => PARTIAL_TYPES.has(typeUrl) && names.names.length > 0;

/** Replaces the type's watch with one against `known` (full types) or the held answer (partial types). */
function arm(s: StreamSession<SotwTypeState>, state: SotwTypeState, typeUrl: string, known: string): void {
  const names = state.nameSet!;
  const partial = isPartial(typeUrl, names);
  const previous = state.cancel;
  state.cancel = undefined;
  const cancel = s.ctx.cache.watchSotw(
    s.nodeKey,
    typeUrl,
    names,
    known,
    partial ? state.held : undefined,
    (r, full) => onAnswer(s, state, r, full, partial),
  );
  // The new watch may fire while it registers and its answer re-arm (an empty partial diff, or named
  // LDS/CDS waiting for a change): the watch that nested call registered is then the current one and
  // this fired one is dropped. Keeping this one instead left the nested watch registered in the cache
  // for good, one more per push, holding its name set and answer (Pilot's memory grew with pushes).
  // So each type of a stream holds at most one registered watch.
  if (state.cancel === undefined) state.cancel = cancel;
  else cancel();
  previous?.();
}

/**
 * Sends `r` with its shared bytes and nonce, unless this stream had it (or a later reply) already.
 * A partial diff with nothing in it (only removals) is not sent: the held answer moves on silently.
 * Named LDS/CDS subscriptions (proxyless gRPC clients) are not told a resource was deleted: the
 * last version sent of a missing name is sent again (server-side gRFC A53 "ignore resource
 * deletion"). gRPC clients (grpc-js 1.14, C-core 1.51) ignore a resource identical to one they
 * cached, even after it was reported deleted, so a listener or cluster that disappears and comes
 * back unchanged would leave them broken; traffic still stops while it is gone, because EDS
 * answers an unknown cluster with no endpoints.
 */
function onAnswer(
  s: StreamSession<SotwTypeState>,
  state: SotwTypeState,
  r: Reply,
  full: Answer,
  partial: boolean,
): void {
  if (partial) state.held = full;
  if (partial && r !== full && r.resources.length === 0) {
    arm(s, state, r.typeUrl, state.versionSent);
    return;
  }
  state.answered = full.version;
  if (WILDCARD_TYPES.has(r.typeUrl) && !state.wildcard) {
    const composed = withHeld(s, state, r);
    if (composed === undefined) {
      // A new stream whose client holds resources of this type (it reported a version) while none of
      // the names it asks for exist: answering would tell it they were deleted. Wait for a change.
      arm(s, state, r.typeUrl, full.version);
      return;
    }
    if (composed !== r) {
      const framed = s.ctx.frames.framed(composed);
      s.send(r.typeUrl, state, composed.version, composed.nonce, composed.resourceNames(), framed);
      return;
    }
  }
  if (r.seq > state.lastSeq) {
    state.lastSeq = r.seq;
    s.send(r.typeUrl, state, r.version, r.nonce, r.resourceNames(), s.ctx.frames.framed(r));
    return;
  }
  const nonce = `${r.nonce}.${s.nextNonce()}`;
  s.send(r.typeUrl, state, r.version, nonce, r.resourceNames(), withNonce(s.ctx.frames.body(r), nonce));
}

/** `r` plus the last sent version of every requested name it lacks; undefined to send nothing. */
function withHeld(s: StreamSession<SotwTypeState>, state: SotwTypeState, r: Reply): Reply | undefined {
  state.sent ??= new Map();
  const sent = state.sent;
  const present = new Set(r.resourceNames());
  const requested = state.nameSet?.names ?? [];
  for (const n of [...sent.keys()]) if (!requested.includes(n)) sent.delete(n);
  for (const res of r.resources) sent.set(res.name, res);
  const missing = requested.filter((n) => !present.has(n));
  if (missing.length === 0) return r;
  const held = missing.flatMap((n) => sent.get(n) ?? []);
  if (held.length === 0) {
    const firstAnswer = state.versionSent === '' && state.clientVersion !== '';
    return firstAnswer && r.resources.length === 0 ? undefined : r;
  }
  const reply = s.ctx.cache.reply(r.typeUrl, `${r.version}.held`, [...r.resources, ...held]);
  state.lastSeq = reply.seq;
  return reply;
}
