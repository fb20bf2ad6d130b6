import { kindFor, kinds, MESH_CONFIG_COLLECTION, type MeshConfig } from '@keel/config';
import type { McpResource, McpSnapshot } from '@keel/mcp';
import { packStruct } from '@keel/proto';
import { convertIngresses } from './ingress.js';
import { type AcceptedResource, type ResourceStore, resourceKey } from './store.js';
import { contentVersion } from './version.js';

export { contentVersion };

const VS = 'istio/networking/v1alpha3/virtualservices';
const GATEWAYS = 'istio/networking/v1alpha3/gateways';
/** Where accepted Kubernetes Ingress objects are kept (not served; converted). */
const INGRESS_COLLECTIONS = kinds.filter((k) => k.kind === 'Ingress').map((k) => k.collection);

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
  onConvertError: (entry: AcceptedResource, err: unknown) => void = () => {},
): McpSnapshot {
  // A conversion that throws (it should not: validation bounds size and depth) drops that resource only.
  const convert = (entry: AcceptedResource): McpResource[] => {
    try {
      return [toMcpResource(entry)];
    } catch (err) {
      onConvertError(entry, err);
      return [];
    }
  };
  const collections = new Map<string, readonly McpResource[]>();
  const ingresses = INGRESS_COLLECTIONS.flatMap((c) => store.entries(c));
  const converted =
    ingresses.length > 0 ? convertIngresses(ingresses, mesh as unknown as MeshConfig) : undefined;
  for (const c of served) {
    if (c === MESH_CONFIG_COLLECTION) continue;
    const list = store.entries(c).flatMap(convert);
    if (c === VS && converted) list.push(...converted.virtualServices);
    if (c === GATEWAYS && converted) list.push(...converted.gateways);
    list.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
    collections.set(c, list);
  }
  collections.set(MESH_CONFIG_COLLECTION, [
    { metadata: { name: MESH_CONFIG_NAME, version: contentVersion(mesh) }, body: packStruct(mesh) },
  ]);
  return { version, collections };
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
