import { createHash } from 'node:crypto';
import { kindFor, MESH_CONFIG_COLLECTION } from '@keel/config';
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
      body: packStruct(isFreeForm(entry) ? entry.resource.body : withoutNulls(entry.resource.body)),
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

/** Kinds whose body is a free-form google.protobuf.Struct, where null is a value. */
function isFreeForm(entry: AcceptedResource): boolean {
  return kindFor(entry.resource.apiVersion, entry.resource.kind)?.typeName === 'google.protobuf.Struct';
}

/** A YAML `field:` with no value is an unset proto field: drop nulls, as Istio's proto conversion does. */
export function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue;
    out[k] = Array.isArray(v)
      ? v.map((x) =>
          x && typeof x === 'object' && !Array.isArray(x) ? withoutNulls(x as Record<string, unknown>) : x,
        )
      : v && typeof v === 'object'
        ? withoutNulls(v as Record<string, unknown>)
        : v;
  }
  return out;
}
