import { type Answer, type NameSet, PARTIAL_TYPES, type Reply, sameOrNew } from './answer.js';
import { type StreamSession, TypeState } from './session.js';
import { type SotwRequest, withNonce } from './wire.js';

/** SotW per-type state: the shared ACK/NACK machine plus the name set asked and, for EDS/RDS, the answer held. */
export class SotwTypeState extends TypeState {
  nameSet?: NameSet;
  /** EDS/RDS by name: the full answer the client has been sent (partial responses are diffs against it). */
  held?: Answer;
  /** Highest Reply.seq sent: a reply not above it gets a stream-unique nonce. */
  lastSeq = 0;
}

/**
 * Handles one DiscoveryRequest: stale nonces are ignored; otherwise the ACK or NACK is recorded and the
 * type's watch is re-armed against what was last sent, so a NACKed version is never resent.
 * EDS and RDS requests by name get partial responses: only resources changed or newly subscribed.
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
  state.nameSet = sameOrNew(state.nameSet, req.resource_names);
  state.names = state.nameSet.names as string[];
  if (!isPartial(typeUrl, state.nameSet)) state.held = undefined;
  arm(s, state, typeUrl, first || state.versionSent === '' ? req.version_info : state.versionSent);
}

const isPartial = (typeUrl: string, names: NameSet) => PARTIAL_TYPES.has(typeUrl) && names.names.length > 0;

/** Replaces the type's watch with one against `known` (full types) or the held answer (partial types). */
function arm(s: StreamSession<SotwTypeState>, state: SotwTypeState, typeUrl: string, known: string): void {
  const names = state.nameSet!;
  const partial = isPartial(typeUrl, names);
  const previous = state.cancel;
  state.cancel = s.ctx.cache.watchSotw(
    s.nodeKey,
    typeUrl,
    names,
    known,
    partial ? state.held : undefined,
    (r, full) => onAnswer(s, state, r, full, partial),
  );
  previous?.();
}

/**
 * Sends `r` with its shared bytes and nonce, unless this stream had it (or a later reply) already.
 * A partial diff with nothing in it (only removals) is not sent: the held answer moves on silently.
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
  if (r.seq > state.lastSeq) {
    state.lastSeq = r.seq;
    s.send(r.typeUrl, state, r.version, r.nonce, r.resourceNames(), r.framed());
    return;
  }
  const nonce = `${r.nonce}.${s.nextNonce()}`;
  s.send(r.typeUrl, state, r.version, nonce, r.resourceNames(), withNonce(r.encoded(), nonce));
}
