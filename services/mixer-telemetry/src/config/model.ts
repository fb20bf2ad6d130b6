// Mixer config resources (handler, instance, rule and their legacy per-kind forms) as plain data,
// with Istio's name resolution (`name`, `name.kind`, `name.kind.namespace`).
import type { KindSpecs } from '@keel/config';
import type { Obj } from './params.js';

/** One config resource as it arrives from Galley (spec = the resource's spec). */
export interface ConfigResource {
  kind: string;
  name: string;
  namespace: string;
  spec: Obj;
}

export interface HandlerConfig {
  /** `<name>.<kind>.<namespace>` (kind `handler` for the generic form). */
  fqn: string;
  name: string;
  namespace: string;
  adapter: string;
  params: Obj;
}

export interface InstanceConfig {
  fqn: string;
  name: string;
  namespace: string;
  template: string;
  params: Obj;
}

export interface ActionConfig {
  handler: string;
  instances: string[];
  name?: string;
}

export interface RuleConfig {
  fqn: string;
  name: string;
  namespace: string;
  match: string;
  actions: ActionConfig[];
  sampling?: Obj;
}

/** Template kinds a legacy `kind: metric` style instance may have. */
export const TEMPLATE_KINDS = new Set([
  'metric',
  'logentry',
  'tracespan',
  'reportnothing',
  'edge',
  'checknothing',
  'listentry',
  'quota',
  'authorization',
  'apikey',
  'kubernetes',
]);

/** Adapter kinds a legacy `kind: prometheus` style handler may have. */
export const ADAPTER_KINDS = new Set([
  'bypass',
  'circonus',
  'cloudwatch',
  'denier',
  'dogstatsd',
  'fluentd',
  'kubernetesenv',
  'listchecker',
  'memquota',
  'noop',
  'opa',
  'prometheus',
  'rbac',
  'redisquota',
  'signalfx',
  'solarwinds',
  'stackdriver',
  'statsd',
  'stdio',
  'zipkin',
]);

export interface MixerConfig {
  handlers: HandlerConfig[];
  instances: InstanceConfig[];
  rules: RuleConfig[];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Sorts resources into handlers, instances and rules (generic and legacy kinds alike). */
export function mixerConfigOf(resources: Iterable<ConfigResource>): MixerConfig {
  const out: MixerConfig = { handlers: [], instances: [], rules: [] };
  for (const r of resources) {
    const ns = r.namespace || 'default';
    const spec = r.spec ?? {};
    if (r.kind === 'handler') {
      const h = spec as KindSpecs['handler'];
      const adapter = str(h.compiledAdapter) || str(h.adapter);
      const params = (h.params ?? {}) as Obj;
      out.handlers.push({ fqn: `${r.name}.handler.${ns}`, name: r.name, namespace: ns, adapter, params });
    } else if (r.kind === 'instance') {
      const inst = spec as KindSpecs['instance'];
      const template = str(inst.compiledTemplate) || str(inst.template);
      const params = (inst.params ?? {}) as Obj;
      out.instances.push({ fqn: `${r.name}.instance.${ns}`, name: r.name, namespace: ns, template, params });
    } else if (r.kind === 'rule') {
      const rule = spec as KindSpecs['rule'];
      const actions = (Array.isArray(rule.actions) ? rule.actions : []) as Obj[];
      out.rules.push({
        fqn: `${r.name}.rule.${ns}`,
        name: r.name,
        namespace: ns,
        match: typeof spec.match === 'string' ? spec.match : '',
        ...(spec.sampling && typeof spec.sampling === 'object' ? { sampling: spec.sampling as Obj } : {}),
        actions: actions.map((a) => ({
          handler: String(a.handler ?? ''),
          instances: (Array.isArray(a.instances) ? a.instances : []).map(String),
          ...(typeof a.name === 'string' ? { name: a.name } : {}),
        })),
      });
    } else if (ADAPTER_KINDS.has(r.kind)) {
      out.handlers.push({
        fqn: `${r.name}.${r.kind}.${ns}`,
        name: r.name,
        namespace: ns,
        adapter: r.kind,
        params: spec,
      });
    } else if (TEMPLATE_KINDS.has(r.kind)) {
      out.instances.push({
        fqn: `${r.name}.${r.kind}.${ns}`,
        name: r.name,
        namespace: ns,
        template: r.kind,
        params: spec,
      });
    }
  }
  return out;
}

/**
 * Resolves a reference from a rule in `ns`: `a` (in ns), `a.kind` (in ns), `a.kind.other-ns`.
 * Candidates are keyed `<name>.<kind>.<ns>`; `generic` is the generic kind (`handler`/`instance`).
 */
export function resolveRef<T extends { fqn: string; name: string; namespace: string }>(
  ref: string,
  ns: string,
  byFqn: ReadonlyMap<string, T>,
  all: readonly T[],
  generic: string,
): T | undefined {
  const parts = ref.split('.');
  if (parts.length >= 3) {
    const target = byFqn.get(ref);
    if (target) return target;
    // `name.kind.ns`: legacy kinds and the generic form both match on name and namespace.
    const [name, , namespace] = [parts[0], parts[1], parts.slice(2).join('.')];
    return all.find((x) => x.name === name && x.namespace === namespace);
  }
  if (parts.length === 2) {
    // `name.kind` in the rule's namespace; `name.handler` / `name.instance` are the generic kinds.
    const [name, kind] = parts as [string, string];
    return (
      byFqn.get(`${name}.${kind}.${ns}`) ??
      (kind === generic ? undefined : byFqn.get(`${name}.${generic}.${ns}`))
    );
  }
  return all.find((x) => x.name === ref && x.namespace === ns);
}
