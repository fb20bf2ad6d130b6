import { coreCollections, istioCollections, MESH_CONFIG_COLLECTION } from '@keel/config';
import { createMcpSink, type McpSink, type McpUpdate } from '@keel/mcp';
import { Recorder } from './events.js';

/** Every collection galley serves: Istio kinds, the Kubernetes core kinds and the mesh config. */
export function galleyCollections(): string[] {
  return [...new Set([...istioCollections(), ...coreCollections(), MESH_CONFIG_COLLECTION])];
}

/** A real MCP sink of `address` that records each applied update (time-stamped as it is applied). */
export function recordingSink(
  address: string,
  collections: readonly string[] = galleyCollections(),
  sinkId = 'e2e-sink',
): { sink: McpSink; updates: Recorder<McpUpdate> } {
  const updates = new Recorder<McpUpdate>();
  const sink = createMcpSink({
    address,
    collections,
    sinkId,
    reconnectDelayMs: 100,
    apply: (u) => updates.push(u),
  });
  return { sink, updates };
}
