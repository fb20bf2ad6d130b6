// Config objects through the production path: Galley's validation and normalization, its MCP
// encoding, and this service's decoding (what the MCP sink hands the runtime).
import { formatError, kindFor, toResource, validateResource } from '@keel/config';
import { toMcpResource } from '@keel/galley';
import { parseAllDocuments } from 'yaml';
import type { ConfigResource } from '../src/config/model.js';
import { configResource } from '../src/config/source.js';

/** Objects -> ConfigResources; a rejection throws with Galley's errors. */
export function resourcesOf(objects: readonly Record<string, unknown>[]): ConfigResource[] {
  return objects.map((o) => {
    const parsed = toResource(o);
    if ('error' in parsed) throw new Error(formatError(parsed.error));
    const checked = validateResource(parsed.resource, { defaultNamespace: 'default' });
    if (!checked.ok) throw new Error(checked.errors.map((e) => formatError(e)).join('; '));
    const info = kindFor(checked.value.apiVersion, checked.value.kind)!;
    const mcp = toMcpResource({ resource: checked.value, origin: 'test', version: '1' });
    return configResource(info.collection, mcp)!;
  });
}

/** Multi-document YAML -> ConfigResources through the production path. */
export function resourcesOfYaml(yaml: string): ConfigResource[] {
  return resourcesOf(
    parseAllDocuments(yaml)
      .map((d) => d.toJS() as Record<string, unknown> | null)
      .filter((o): o is Record<string, unknown> => !!o),
  );
}
