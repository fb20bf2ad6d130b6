// Policy resources as they arrive over MCP, normalised: legacy per-adapter and per-template kinds
// become handlers and instances, and references resolve to `<name>.<kind>.<namespace>` keys.
import { type KindSpecs, kindByCollection } from '@keel/config';
import type { McpResource } from '@keel/mcp';
import { unpackStruct } from '@keel/proto';

/** One resource from a policy collection. */
export interface PolicyResource {
  kind: string;
  namespace: string;
  name: string;
  spec: Record<string, unknown>;
  version: string;
}

/** Template names of the legacy per-template kinds (instances). */
export const TEMPLATE_KINDS: ReadonlySet<string> = new Set([
  'checknothing',
  'listentry',
  'quota',
  'authorization',
  'apikey',
  'metric',
  'logentry',
  'tracespan',
  'edge',
  'reportnothing',
  'kubernetes',
]);

/** A normalised handler: its full name and adapter. */
export interface HandlerDef {
  key: string;
  namespace: string;
  adapter: string;
  params: Record<string, unknown>;
  source: PolicyResource;
}

/** A normalised instance: its full name, short name and template. */
export interface InstanceDef {
  key: string;
  shortName: string;
  namespace: string;
  template: string;
  params: Record<string, unknown>;
  source: PolicyResource;
}

export const fullName = (name: string, kind: string, ns: string): string => `${name}.${kind}.${ns}`;

/** A resource from an MCP collection, or undefined for collections this service does not read. */
export function policyResource(collection: string, r: McpResource): PolicyResource | undefined {
  const info = kindByCollection(collection);
  if (!info) return undefined;
  const slash = r.metadata.name.indexOf('/');
  const namespace = slash < 0 ? '' : r.metadata.name.slice(0, slash);
  const name = slash < 0 ? r.metadata.name : r.metadata.name.slice(slash + 1);
  const spec = (unpackStruct(r.body) ?? {}) as Record<string, unknown>;
  return { kind: info.kind, namespace, name, spec, version: r.metadata.version };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** `kind: handler` (compiledAdapter/adapter) or a legacy adapter kind. */
export function handlerDef(r: PolicyResource): HandlerDef | undefined {
  if (r.kind === 'handler') {
    const spec = r.spec as KindSpecs['handler'];
    const adapter = str(spec.compiledAdapter) || str(spec.adapter);
    const params = spec.params ?? {};
    return {
      key: fullName(r.name, 'handler', r.namespace),
      namespace: r.namespace,
      adapter,
      params,
      source: r,
    };
  }
  if (r.kind === 'instance' || r.kind === 'rule' || TEMPLATE_KINDS.has(r.kind)) return undefined;
  return {
    key: fullName(r.name, r.kind, r.namespace),
    namespace: r.namespace,
    adapter: r.kind,
    params: r.spec,
    source: r,
  };
}

/** `kind: instance` (compiledTemplate/template) or a legacy template kind. */
export function instanceDef(r: PolicyResource): InstanceDef | undefined {
  if (r.kind === 'instance') {
    const spec = r.spec as KindSpecs['instance'];
    const template = str(spec.compiledTemplate) || str(spec.template);
    const params = spec.params ?? {};
    return {
      key: fullName(r.name, 'instance', r.namespace),
      shortName: r.name,
      namespace: r.namespace,
      template,
      params,
      source: r,
    };
  }
  if (!TEMPLATE_KINDS.has(r.kind)) return undefined;
  return {
    key: fullName(r.name, r.kind, r.namespace),
    shortName: r.name,
    namespace: r.namespace,
    template: r.kind,
    params: r.spec,
    source: r,
  };
}

/**
 * Resolves a handler or instance reference from a rule in `ns`: `name.kind.ns`, `name.kind`
 * (rule's namespace) or `name` (`name.<generic>.ns`, else the only legacy kind with that name).
 */
export function resolveRef<T>(
  ref: string,
  ns: string,
  generic: string,
  byKey: ReadonlyMap<string, T>,
): string | undefined {
  const parts = ref.split('.');
  if (parts.length >= 3) return byKey.has(ref) ? ref : undefined;
  if (parts.length === 2) {
    const k = fullName(parts[0]!, parts[1]!, ns);
    return byKey.has(k) ? k : undefined;
  }
  const g = fullName(ref, generic, ns);
  if (byKey.has(g)) return g;
  const prefix = `${ref}.`;
  const suffix = `.${ns}`;
  for (const k of byKey.keys())
    if (k.startsWith(prefix) && k.endsWith(suffix) && k.split('.').length === 3) return k;
  return undefined;
}
