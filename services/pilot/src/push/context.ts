// Which PushContext a push builds from: the last one with new endpoints, one reusing the last registry,
// or one built from nothing.
import { buildPushContext, REGISTRY_KINDS } from '../model/push-context.js';
import { withEndpoints } from '../model/push-context-eds.js';
import type { ConfigStoreSnapshot, PushContext, PushMemo } from '../model/types.js';
import type { PushRequest } from '../server/config-store.js';

export interface NextContextOptions {
  domain?: string;
  memo?: PushMemo;
  /**
   * The last context reflects every change before `req` (false after a failed context build: it may
   * miss changes, so nothing is reused from it).
   */
  prevFresh: boolean;
}

export interface NextContext {
  push: PushContext;
  /** What was reused from `prev`: all but the changed hosts' endpoints, the registry, or nothing. */
  reused: 'endpoints' | 'registry' | 'none';
}

/** The context for `req` on `store`; throws what buildPushContext throws. */
export function nextPushContext(
  prev: PushContext | undefined,
  store: ConfigStoreSnapshot,
  req: PushRequest,
  opts: NextContextOptions,
): NextContext {
  const base = { ...(opts.domain ? { domain: opts.domain } : {}), ...(opts.memo ? { memo: opts.memo } : {}) };
  if (prev && opts.prevFresh) {
    if (!req.full) {
      const eds = withEndpoints(prev, store, req.edsHosts);
      if (eds) return { push: eds, reused: 'endpoints' };
    } else if (req.edsHosts.size === 0 && ![...req.kinds].some((k) => REGISTRY_KINDS.has(k))) {
      // Nothing the registry reads changed (VirtualServices, DestinationRules, policies...).
      return { push: buildPushContext(store, { ...base, registryFrom: prev }), reused: 'registry' };
    }
  }
  return { push: buildPushContext(store, base), reused: 'none' };
}
