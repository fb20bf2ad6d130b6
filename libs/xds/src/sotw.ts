import type { SotwResponse } from './cache.js';
import { type StreamSession, TypeState } from './session.js';
import type { SotwRequest, SotwWire } from './wire.js';

/**
 * Handles one DiscoveryRequest: stale nonces are ignored; otherwise the ACK or NACK is recorded and the
 * type's watch is re-armed against the version last sent, so a NACKed version is never resent.
 */
export function onSotwRequest(s: StreamSession, req: SotwRequest): void {
  const typeUrl = req.type_url;
  const first = !s.types.has(typeUrl);
  if (first) s.types.set(typeUrl, new TypeState());
  const state = s.types.get(typeUrl)!;
  s.ctx.callbacks.onRequest?.(s.info(), typeUrl, req);
  const verdict = first
    ? 'initial'
    : s.acknowledge(typeUrl, state, req.response_nonce, req.version_info, req.error_detail);
  if (verdict === 'stale') return;
  state.names = [...req.resource_names];
  const known = first || state.versionSent === '' ? req.version_info : state.versionSent;
  const previous = state.cancel;
  state.cancel = s.ctx.cache.watch(s.nodeKey, typeUrl, state.names, known, (r) => sendSotw(s, state, r));
  previous?.();
}

function sendSotw(s: StreamSession, state: TypeState, r: SotwResponse): void {
  const nonce = s.nextNonce();
  const message: SotwWire = {
    version_info: r.version,
    resources: r.resources.map((x) => ({ type_url: x.typeUrl, value: x.encoded })),
    type_url: r.typeUrl,
    nonce,
  };
  s.send(
    r.typeUrl,
    state,
    r.version,
    nonce,
    r.resources.map((x) => x.name),
    message,
  );
}
