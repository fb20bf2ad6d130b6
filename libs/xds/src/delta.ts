import { TypeUrl } from '@keel/proto';
import type { DeltaResponse, DeltaState } from './cache.js';
import { type StreamSession, TypeState } from './session.js';
import type { DeltaRequest, DeltaWire } from './wire.js';

/** Types where a first request subscribing nothing means "everything". */
const WILDCARD_TYPES: ReadonlySet<string> = new Set([TypeUrl.Cluster, TypeUrl.Listener]);

/** Delta per-type state: the shared ACK/NACK machine plus what the client subscribed to and holds. */
export class DeltaTypeState extends TypeState implements DeltaState {
  wildcard = false;
  readonly subscribed = new Set<string>();
  /** name -> version the client holds (updated when a response is sent). */
  readonly known = new Map<string, string>();
}

/**
 * Handles one DeltaDiscoveryRequest: subscription changes always apply; the nonce decides ACK/NACK
 * (stale ones are not recorded); the watch is re-armed against what the client is known to hold.
 */
export function onDeltaRequest(s: StreamSession<DeltaTypeState>, req: DeltaRequest): void {
  const typeUrl = req.type_url;
  const first = !s.types.has(typeUrl);
  if (first) s.types.set(typeUrl, initialState(typeUrl, req));
  const state = s.types.get(typeUrl)!;
  s.ctx.callbacks.onRequest?.(s.info(), typeUrl, req);
  const verdict = first
    ? 'initial'
    : s.acknowledge(typeUrl, state, req.response_nonce, state.versionSent, req.error_detail);
  const changed = applySubscriptions(state, req);
  if (verdict === 'stale' && !changed) return;
  state.names = [...(state.wildcard ? ['*'] : []), ...state.subscribed];
  const previous = state.cancel;
  state.cancel = s.ctx.cache.watchDelta(s.nodeKey, typeUrl, state, (r) => sendDelta(s, state, r));
  previous?.();
}

function initialState(typeUrl: string, req: DeltaRequest): DeltaTypeState {
  const state = new DeltaTypeState();
  state.wildcard = req.resource_names_subscribe.length === 0 && WILDCARD_TYPES.has(typeUrl);
  for (const [name, version] of Object.entries(req.initial_resource_versions)) state.known.set(name, version);
  return state;
}

/** Applies subscribe/unsubscribe ('*' toggles wildcard); true when anything changed. */
function applySubscriptions(state: DeltaTypeState, req: DeltaRequest): boolean {
  let changed = false;
  for (const name of req.resource_names_subscribe) {
    if (name === '*') {
      changed ||= !state.wildcard;
      state.wildcard = true;
    } else if (!state.subscribed.has(name)) {
      state.subscribed.add(name);
      changed = true;
    }
  }
  for (const name of req.resource_names_unsubscribe) {
    if (name === '*') {
      changed ||= state.wildcard;
      state.wildcard = false;
    } else if (state.subscribed.delete(name)) {
      if (!state.wildcard) state.known.delete(name);
      changed = true;
    }
  }
  return changed;
}

function sendDelta(s: StreamSession<DeltaTypeState>, state: DeltaTypeState, r: DeltaResponse): void {
  const nonce = s.nextNonce();
  for (const x of r.updated) state.known.set(x.name, x.version);
  for (const name of r.removed) state.known.delete(name);
  const message: DeltaWire = {
    system_version_info: r.systemVersion,
    resources: r.updated.map((x) => ({
      name: x.name,
      version: x.version,
      resource: { type_url: x.typeUrl, value: x.encoded },
    })),
    type_url: r.typeUrl,
    removed_resources: [...r.removed],
    nonce,
  };
  const names = [...r.updated.map((x) => x.name), ...r.removed];
  s.send(r.typeUrl, state, r.systemVersion, nonce, names, message);
}
