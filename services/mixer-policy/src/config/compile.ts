// Policy resources -> a runtime configuration: handlers built, instances and rules type-checked and
// compiled. A resource that fails keeps its last good version in force; its errors are listed.
import {
  type AttributeManifest,
  type CompiledExpression,
  compileExpression,
  DEFAULT_MANIFEST,
  manifestFromSpec,
  mergeManifests,
} from '@keel/attributes';
import { ADAPTERS, CHECK_TEMPLATES, QUOTA_TEMPLATES } from '../adapters/index.js';
import type { AdapterEnv, Handler } from '../adapters/types.js';
import { compileQuotaSpecs, type QuotaSpecIndex } from './quota-spec.js';
import {
  fullName,
  handlerDef,
  type InstanceDef,
  instanceDef,
  type PolicyResource,
  resolveRef,
} from './resources.js';
import { compileInstance, type InstanceBuilder } from './templates.js';

export interface HandlerEntry {
  key: string;
  adapter: string;
  fingerprint: string;
  handler: Handler;
}

export interface InstanceEntry {
  key: string;
  shortName: string;
  template: string;
  fingerprint: string;
  build: InstanceBuilder;
}

export interface HeaderOp {
  name: string;
  values: CompiledExpression[];
  operation: 'REPLACE' | 'REMOVE' | 'APPEND';
}

export interface Action {
  handler: HandlerEntry;
  instances: InstanceEntry[];
}

export interface RuleEntry {
  key: string;
  namespace: string;
  fingerprint: string;
  match?: CompiledExpression;
  checks: Action[];
  quotas: Action[];
  requestHeaderOps: HeaderOp[];
  responseHeaderOps: HeaderOp[];
}

/** A resource that failed: what, why, and whether a last good version stays in force. */
export interface ConfigIssue {
  resource: string;
  errors: string[];
  keptLastGood: boolean;
}

export interface PolicyConfig {
  version: string;
  manifest: AttributeManifest;
  handlers: ReadonlyMap<string, HandlerEntry>;
  instances: ReadonlyMap<string, InstanceEntry>;
  rules: readonly RuleEntry[];
  /** Rules by namespace; the default namespace's apply to every request. */
  rulesByNamespace: ReadonlyMap<string, readonly RuleEntry[]>;
  quotaSpecs: QuotaSpecIndex;
  issues: readonly ConfigIssue[];
  defaultNamespace: string;
}

/** An empty configuration: no rules, every check OK. */
export function emptyConfig(defaultNamespace = 'istio-system'): PolicyConfig {
  return {
    version: '',
    manifest: DEFAULT_MANIFEST,
    handlers: new Map(),
    instances: new Map(),
    rules: [],
    rulesByNamespace: new Map(),
    quotaSpecs: compileQuotaSpecs([], []),
    issues: [],
    defaultNamespace,
  };
}

const fp = (r: PolicyResource, extra = ''): string => JSON.stringify(r.spec) + extra;

/**
 * Compiles resources against the previous configuration: unchanged handlers are reused (not
 * rebuilt), failing resources keep their previous entry. Handlers that are no longer used are
 * returned for the caller to close once the new configuration is in force.
 */
export function compilePolicy(
  resources: readonly PolicyResource[],
  previous: PolicyConfig,
  env: Omit<AdapterEnv, 'handlerName'>,
  version: string,
): { config: PolicyConfig; retired: Handler[] } {
  const issues: ConfigIssue[] = [];
  const issue = (r: PolicyResource, errors: string[], kept: boolean) =>
    issues.push({ resource: `${r.kind} ${r.namespace}/${r.name}`, errors, keptLastGood: kept });

  // Attribute manifests first: everything else is checked against them.
  const extra = resources.filter((r) => r.kind === 'attributemanifest');
  const manifests = extra.map((r) => {
    const m = manifestFromSpec(r.spec as never);
    if (m.errors.length > 0) issue(r, m.errors, false);
    return m.attributes;
  });
  const manifest = mergeManifests(DEFAULT_MANIFEST, ...manifests);
  const manifestFp = JSON.stringify([...manifest]);

  const handlers = new Map<string, HandlerEntry>();
  for (const r of resources) {
    const def = handlerDef(r);
    if (!def || r.kind === 'attributemanifest' || !isPolicyKind(r.kind)) continue;
    const adapter = ADAPTERS.get(def.adapter);
    if (!adapter) continue; // a telemetry adapter (prometheus, stdio ...): mixer-telemetry's business
    const print = fp(r, def.adapter);
    const old = previous.handlers.get(def.key);
    if (old && old.fingerprint === print) {
      handlers.set(def.key, old);
      continue;
    }
    const built = adapter.build(def.params, { ...env, handlerName: def.key });
    if (built.ok)
      handlers.set(def.key, { key: def.key, adapter: def.adapter, fingerprint: print, handler: built.value });
    else {
      issue(
        r,
        built.errors.map((e) => `params.${e}`),
        old !== undefined,
      );
      if (old) handlers.set(def.key, old);
    }
  }

  const instances = new Map<string, InstanceEntry>();
  for (const r of resources) {
    const def = instanceDef(r);
    if (!def || !(CHECK_TEMPLATES.has(def.template) || QUOTA_TEMPLATES.has(def.template))) continue;
    const print = fp(r, manifestFp);
    const old = previous.instances.get(def.key);
    if (old && old.fingerprint === print) {
      instances.set(def.key, old);
      continue;
    }
    const entry = compileInstanceEntry(def, manifest, print);
    if ('build' in entry) instances.set(def.key, entry);
    else {
      issue(r, entry.errors, old !== undefined);
      if (old) instances.set(def.key, old);
    }
  }

  const oldRules = new Map(previous.rules.map((x) => [x.key, x]));
  const rules: RuleEntry[] = [];
  for (const r of resources) {
    if (r.kind !== 'rule') continue;
    const key = fullName(r.name, 'rule', r.namespace);
    const compiled = compileRule(r, key, manifest, handlers, instances);
    const old = oldRules.get(key);
    if ('checks' in compiled) {
      // A rule with only telemetry actions is mixer-telemetry's: nothing to do here.
      const c = compiled;
      if (c.checks.length + c.quotas.length + c.requestHeaderOps.length + c.responseHeaderOps.length > 0)
        rules.push(c);
    } else {
      issue(r, compiled.errors, old !== undefined);
      if (old) rules.push(old);
    }
  }

  const byNs = new Map<string, RuleEntry[]>();
  for (const rule of rules) {
    const list = byNs.get(rule.namespace) ?? [];
    list.push(rule);
    byNs.set(rule.namespace, list);
  }
  const specs = resources.filter((r) => r.kind === 'QuotaSpec');
  const bindings = resources.filter((r) => r.kind === 'QuotaSpecBinding');
  const quotaSpecs = compileQuotaSpecs(specs, bindings, (r, errs) => issue(r, errs, false));
  const live = new Set([...handlers.values()].map((h) => h.handler));
  const retired = [...previous.handlers.values()].map((h) => h.handler).filter((h) => !live.has(h));
  return {
    config: {
      version,
      manifest,
      handlers,
      instances,
      rules,
      rulesByNamespace: byNs,
      quotaSpecs,
      issues,
      defaultNamespace: previous.defaultNamespace,
    },
    retired,
  };
}

function isPolicyKind(kind: string): boolean {
  return kind === 'handler' || ADAPTERS.has(kind);
}

function compileInstanceEntry(
  def: InstanceDef,
  manifest: AttributeManifest,
  print: string,
): InstanceEntry | { errors: string[] } {
  const errors: string[] = [];
  const build = compileInstance(def.key, def.template, def.params, manifest, errors);
  if (errors.length > 0 || !build) return { errors: errors.length ? errors : ['cannot compile'] };
  return { key: def.key, shortName: def.shortName, template: def.template, fingerprint: print, build };
}

function compileHeaderOps(
  path: string,
  v: unknown,
  manifest: AttributeManifest,
  errors: string[],
): HeaderOp[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    errors.push(`${path}: must be a list`);
    return [];
  }
  return v.map((raw, i) => {
    const o = (raw ?? {}) as Record<string, unknown>;
    const at = `${path}[${i}]`;
    const name = typeof o.name === 'string' ? o.name : '';
    if (!name) errors.push(`${at}.name: required`);
    const operation = (o.operation ?? 'REPLACE') as HeaderOp['operation'];
    if (!['REPLACE', 'REMOVE', 'APPEND'].includes(operation))
      errors.push(`${at}.operation: unknown ${operation}`);
    const values = (Array.isArray(o.values) ? o.values : []).flatMap((e: unknown, j: number) => {
      const c = compileExpression(String(e), manifest, 'STRING');
      if (!c.ok) errors.push(...c.errors.map((x) => `${at}.values[${j}]: ${x}`));
      return c.ok ? [c.value] : [];
    });
    return { name, values, operation };
  });
}

function compileRule(
  r: PolicyResource,
  key: string,
  manifest: AttributeManifest,
  handlers: ReadonlyMap<string, HandlerEntry>,
  instances: ReadonlyMap<string, InstanceEntry>,
): RuleEntry | { errors: string[] } {
  const errors: string[] = [];
  let match: CompiledExpression | undefined;
  const m = typeof r.spec.match === 'string' ? r.spec.match.trim() : '';
  if (m !== '') {
    const c = compileExpression(m, manifest, 'BOOL');
    if (c.ok) match = c.value;
    else errors.push(...c.errors.map((e) => `match: ${e}`));
  }
  const checks: Action[] = [];
  const quotas: Action[] = [];
  const actions = Array.isArray(r.spec.actions) ? (r.spec.actions as Record<string, unknown>[]) : [];
  actions.forEach((a, i) => {
    const ref = String(a?.handler ?? '');
    const hk = resolveRef(ref, r.namespace, 'handler', handlers);
    if (!hk) {
      // Not a policy handler here: a telemetry handler is fine, an unknown one is an error only if
      // its instances are policy instances.
      const policyInstances = (Array.isArray(a?.instances) ? a.instances : []).some(
        (x: unknown) => resolveRef(String(x), r.namespace, 'instance', instances) !== undefined,
      );
      if (policyInstances) errors.push(`actions[${i}].handler: handler ${JSON.stringify(ref)} not found`);
      return;
    }
    const handler = handlers.get(hk)!;
    const templates = ADAPTERS.get(handler.adapter)!.templates;
    const insts: InstanceEntry[] = [];
    (Array.isArray(a.instances) ? a.instances : []).forEach((x: unknown, j: number) => {
      const ik = resolveRef(String(x), r.namespace, 'instance', instances);
      const inst = ik ? instances.get(ik) : undefined;
      if (!inst) errors.push(`actions[${i}].instances[${j}]: instance ${JSON.stringify(x)} not found`);
      else if (!templates.includes(inst.template))
        errors.push(
          `actions[${i}].instances[${j}]: adapter ${handler.adapter} does not support template ${inst.template}`,
        );
      else insts.push(inst);
    });
    const checkInsts = insts.filter((x) => CHECK_TEMPLATES.has(x.template));
    const quotaInsts = insts.filter((x) => QUOTA_TEMPLATES.has(x.template));
    if (checkInsts.length > 0) checks.push({ handler, instances: checkInsts });
    if (quotaInsts.length > 0) quotas.push({ handler, instances: quotaInsts });
  });
  const requestHeaderOps = compileHeaderOps(
    'requestHeaderOperations',
    r.spec.requestHeaderOperations,
    manifest,
    errors,
  );
  const responseHeaderOps = compileHeaderOps(
    'responseHeaderOperations',
    r.spec.responseHeaderOperations,
    manifest,
    errors,
  );
  if (errors.length > 0) return { errors };
  return {
    key,
    namespace: r.namespace,
    fingerprint: fp(r),
    match,
    checks,
    quotas,
    requestHeaderOps,
    responseHeaderOps,
  };
}
