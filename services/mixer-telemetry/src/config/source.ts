// Which MCP collections mixer-telemetry reads, and their resources as ConfigResources.
import { kindByCollection, kinds } from '@keel/config';
import type { McpResource } from '@keel/mcp';
import { unpackStruct } from '@keel/proto';
import { PODS_COLLECTION, SERVICES_COLLECTION } from '../mesh.js';
import type { ConfigResource } from './model.js';

/** Mixer's config collections (handler, instance, rule, manifests and every legacy kind). */
export function mixerConfigCollections(): string[] {
  return kinds.filter((k) => k.webhook === 'mixer' && k.served).map((k) => k.collection);
}

/** Everything the sink subscribes to: Mixer config plus pods and services. */
export function telemetryCollections(): string[] {
  return [...new Set([...mixerConfigCollections(), PODS_COLLECTION, SERVICES_COLLECTION])];
}

/** One MCP resource of a Mixer collection -> ConfigResource (namespace/name split, spec unpacked). */
export function configResource(collection: string, r: McpResource): ConfigResource | undefined {
  const kind = kindByCollection(collection);
  if (!kind) return undefined;
  const slash = r.metadata.name.indexOf('/');
  const namespace = slash < 0 ? '' : r.metadata.name.slice(0, slash);
  const name = slash < 0 ? r.metadata.name : r.metadata.name.slice(slash + 1);
  return { kind: kind.kind, name, namespace, spec: unpackStruct(r.body) as Record<string, unknown> };
}
