import { createHash } from 'node:crypto';
import { MESH_CONFIG_COLLECTION } from '@keel/config';
import type { McpResource, McpSnapshot } from '@keel/mcp';
import { packStruct } from '@keel/proto';
import { type AcceptedResource, type ResourceStore, resourceKey } from './store.js';

/** The mesh config's one resource name in its collection. */
export const MESH_CONFIG_NAME = 'istio-system/meshconfig';

const encoded = new WeakMap<AcceptedResource, McpResource>();

/** MCP form of an accepted resource; encoded once per accepted version and reused by every snapshot. */
export function toMcpResource(entry: AcceptedResource): McpResource {
  let r = encoded.get(entry);
  if (!r) {
    const meta = entry.resource.metadata;
    r = {
      metadata: {
        name: resourceKey(entry.resource),
        version: entry.version,
        ...(meta.labels ? { labels: meta.labels } : {}),
        ...(meta.annotations ? { annotations: meta.annotations } : {}),
        ...(meta.creationTimestamp ? { createTime: new Date(meta.creationTimestamp) } : {}),
      },
      body: packStruct(entry.resource.body),
    };
    encoded.set(entry, r);
  }
  return r;
}

/**
 * An immutable snapshot of every served collection (empty ones included), resources sorted by name.
 * The mesh config is served as its own collection.
 */
export function buildSnapshot(
  store: ResourceStore,
  served: readonly string[],
  mesh: Record<string, unknown>,
  version: string,
): McpSnapshot {
  const collections = new Map<string, readonly McpResource[]>();
  for (const c of served) {
    if (c === MESH_CONFIG_COLLECTION) continue;
    const list = store.entries(c).map(toMcpResource);
    list.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
    collections.set(c, list);
  }
  collections.set(MESH_CONFIG_COLLECTION, [
    { metadata: { name: MESH_CONFIG_NAME, version: contentVersion(mesh) }, body: packStruct(mesh) },
  ]);
  return { version, collections };
}

/** A short stable hash of JSON content, used as the version of resources that carry none. */
export function contentVersion(value: unknown): string {
  return createHash('sha1').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
