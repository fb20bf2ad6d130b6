import type { McpResource, McpUpdate } from './types.js';
import { fromWireResource, type WireResources } from './wire.js';

/** A collection's state after a response, and the update handed to `apply`. */
export interface AppliedResponse {
  next: Map<string, McpResource>;
  update: McpUpdate;
}

/**
 * Computes a collection's next state from `prev` and one response, without touching `prev`:
 * a full set replaces it, an incremental one adds/changes `resources` and drops `removed_resources`.
 * Throws on a malformed resource (a bug on the source's side, NACKed by the caller).
 */
export function applyResponse(prev: ReadonlyMap<string, McpResource>, msg: WireResources): AppliedResponse {
  const incremental = msg.incremental === true;
  const incoming = (msg.resources ?? []).map(fromWireResource);
  const next = new Map<string, McpResource>(incremental ? prev : []);
  const removed: string[] = [];
  if (incremental) {
    for (const name of msg.removed_resources ?? []) {
      if (next.delete(name)) removed.push(name);
    }
  }
  for (const r of incoming) next.set(r.metadata.name, r);
  if (!incremental) for (const name of prev.keys()) if (!next.has(name)) removed.push(name);
  const changed = incoming.filter((r) => prev.get(r.metadata.name)?.metadata.version !== r.metadata.version);
  const update: McpUpdate = {
    collection: msg.collection ?? '',
    resources: [...next.values()],
    changed,
    removed,
    incremental,
    version: msg.system_version_info ?? '',
  };
  return { next, update };
}
