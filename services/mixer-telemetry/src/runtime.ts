// Report dispatch: rules (match + namespace scope) -> instances (evaluated once per entry) ->
// handlers. Built from one config generation; a new config builds a new Runtime.

import type { PromHandler } from './adapters/prometheus.js';
import type { AdapterContext, AdapterFactory, HandlerImpl } from './adapters/types.js';
import type { Bag } from './bag.js';
import type { Expression, ExpressionCompiler } from './config/expression.js';
import { type HandlerConfig, type MixerConfig, resolveRef } from './config/model.js';
import { buildSampler, type Sampler } from './config/sampling.js';
import {
  type CompiledInstance,
  compileInstance,
  type DimGroup,
  dimSignature,
  evaluateInstance,
  REPORT_TEMPLATES,
} from './config/templates.js';

/** A rejected or partly rejected config resource. */
export interface ConfigError {
  /** `<name>.<kind>.<namespace>` */
  resource: string;
  kind: 'handler' | 'instance' | 'rule';
  message: string;
}

interface Action {
  handler: HandlerImpl;
  adapter: string;
  instances: CompiledInstance[];
}

interface Rule {
  fqn: string;
  namespace: string;
  match: Expression | undefined;
  sampler: Sampler | undefined;
  actions: Action[];
}

export interface DispatchStats {
  entries: number;
  dispatches: number;
  /** Instances that could not be built for an entry (an absent attribute without default ...). */
  instanceErrors: number;
  matchErrors: number;
}

let generation = 0;

export class Runtime {
  readonly stats: DispatchStats = { entries: 0, dispatches: 0, instanceErrors: 0, matchErrors: 0 };
  /** Last instance error, for logs (bounded: one string). */
  lastInstanceError = '';

  constructor(
    readonly rules: readonly Rule[],
    readonly handlers: readonly HandlerImpl[],
    readonly defaultNamespace: string,
    readonly counts: { rules: number; instances: number; handlers: number },
  ) {}

  /** Dispatches every bag of one batch, then flushes the handlers. */
  report(bags: readonly Bag[], now = Date.now()): void {
    const st = this.stats;
    for (const bag of bags) {
      const gen = ++generation;
      st.entries++;
      const outbound = bag.get('context.reporter.kind') === 'outbound';
      const identityNs = bag.get(outbound ? 'source.namespace' : 'destination.namespace');
      for (const rule of this.rules) {
        if (rule.namespace !== this.defaultNamespace && rule.namespace !== identityNs) continue;
        if (rule.match) {
          const m = rule.match.evaluate(bag);
          if (m !== true) {
            if (m !== false) st.matchErrors++;
            continue;
          }
        }
        if (rule.sampler && !rule.sampler(bag, now)) continue;
        for (const action of rule.actions) {
          for (const inst of action.instances) {
            if (evaluateInstance(inst, bag, gen)) {
              action.handler.handle(inst, now);
              st.dispatches++;
            } else {
              st.instanceErrors++;
              this.lastInstanceError = `${inst.fqn}: ${inst.error}`;
            }
          }
        }
      }
    }
    for (const h of this.handlers) h.flush();
  }

  close(): void {
    for (const h of this.handlers) h.close();
  }
}

export interface BuildOptions {
  compiler: ExpressionCompiler;
  adapters: ReadonlyMap<string, AdapterFactory>;
  ctx: AdapterContext;
  /** Rules here apply to every namespace (`--config-default-namespace`, istio-system). */
  defaultNamespace?: string;
  /** Random source of rule sampling (tests pass a deterministic one). */
  random?: () => number;
}

/** Builds a Runtime; every bad resource is reported and left out while the rest keeps working. */
export function buildRuntime(
  config: MixerConfig,
  opts: BuildOptions,
): { runtime: Runtime; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const defaultNs = opts.defaultNamespace ?? 'istio-system';
  const instances = new Map<string, CompiledInstance>();
  const reportInstances = config.instances.filter((i) => REPORT_TEMPLATES.has(i.template));
  const badInstances = new Set<string>();
  for (const cfg of reportInstances) {
    const r = compileInstance(cfg, opts.compiler);
    if (r.ok) instances.set(cfg.fqn, r.value);
    else {
      badInstances.add(cfg.fqn);
      errors.push({ resource: cfg.fqn, kind: 'instance', message: r.errors.join('; ') });
    }
  }
  // Metric instances with the same dimension expressions evaluate their dimensions once per entry.
  const groups = new Map<string, DimGroup>();
  for (const inst of instances.values()) {
    if (inst.template !== 'metric') continue;
    const sig = dimSignature(inst);
    const g = groups.get(sig);
    if (g) inst.group = g;
    else groups.set(sig, inst.group);
  }
  const allInstances = config.instances;
  const instByFqn = new Map(allInstances.map((i) => [i.fqn, i]));
  const handlerByFqn = new Map(config.handlers.map((h) => [h.fqn, h]));
  // First pass: rules -> (handler config, instances) pairs.
  const pending: Array<{
    rule: Rule;
    parts: Array<{ handler: HandlerConfig; instances: CompiledInstance[] }>;
  }> = [];
  const routed = new Map<HandlerConfig, Set<CompiledInstance>>();
  for (const r of config.rules) {
    let match: Expression | undefined;
    const text = r.match.trim();
    if (text !== '' && text !== 'true') {
      const c = opts.compiler.compile(text);
      if (!c.ok) {
        errors.push({ resource: r.fqn, kind: 'rule', message: `match: ${c.errors}` });
        continue;
      }
      if (c.value.type !== 'BOOL' && c.value.type !== 'VALUE_TYPE_UNSPECIFIED') {
        errors.push({
          resource: r.fqn,
          kind: 'rule',
          message: `match: expression '${text}' is ${c.value.type}, not BOOL`,
        });
        continue;
      }
      match = c.value;
    }
    const sampler = buildSampler(r.sampling, opts.compiler, opts.random);
    if (!sampler.ok) {
      errors.push({ resource: r.fqn, kind: 'rule', message: sampler.errors });
      continue;
    }
    const parts: Array<{ handler: HandlerConfig; instances: CompiledInstance[] }> = [];
    for (const a of r.actions) {
      const insts: CompiledInstance[] = [];
      let report = false;
      for (const ref of a.instances) {
        const cfg = resolveRef(ref, r.namespace, instByFqn, allInstances, 'instance');
        if (!cfg) {
          errors.push({ resource: r.fqn, kind: 'rule', message: `instance '${ref}' not found` });
          continue;
        }
        if (!REPORT_TEMPLATES.has(cfg.template)) continue;
        report = true;
        const inst = instances.get(cfg.fqn);
        if (inst) insts.push(inst);
        else if (badInstances.has(cfg.fqn)) {
          errors.push({ resource: r.fqn, kind: 'rule', message: `instance '${ref}' was rejected` });
        }
      }
      if (!report) continue;
      const h = resolveRef(a.handler, r.namespace, handlerByFqn, config.handlers, 'handler');
      if (!h) {
        errors.push({ resource: r.fqn, kind: 'rule', message: `handler '${a.handler}' not found` });
        continue;
      }
      const factory = opts.adapters.get(h.adapter);
      if (!factory) {
        errors.push({
          resource: r.fqn,
          kind: 'rule',
          message: `handler '${a.handler}': adapter '${h.adapter}' is not available here`,
        });
        continue;
      }
      const fitting = insts.filter((i) => {
        if (factory.templates.has(i.template)) return true;
        errors.push({
          resource: r.fqn,
          kind: 'rule',
          message: `adapter '${h.adapter}' does not take template '${i.template}' (${i.fqn})`,
        });
        return false;
      });
      if (fitting.length === 0) continue;
      parts.push({ handler: h, instances: fitting });
      const set = routed.get(h) ?? new Set();
      for (const i of fitting) set.add(i);
      routed.set(h, set);
    }
    pending.push({
      rule: { fqn: r.fqn, namespace: r.namespace, match, sampler: sampler.value, actions: [] },
      parts,
    });
  }
  // Second pass: build each handler once with every instance routed to it.
  const built = new Map<HandlerConfig, HandlerImpl>();
  for (const [h, set] of routed) {
    const res = opts.adapters.get(h.adapter)!.build(h, [...set], opts.ctx);
    if (res.ok) built.set(h, res.value);
    else errors.push({ resource: h.fqn, kind: 'handler', message: res.errors });
  }
  const rules: Rule[] = [];
  for (const { rule, parts } of pending) {
    for (const p of parts) {
      const handler = built.get(p.handler);
      if (handler) rule.actions.push({ handler, adapter: p.handler.adapter, instances: p.instances });
    }
    if (rule.actions.length > 0) rules.push(rule);
  }
  const handlers = [...built.values()];
  const promHandlers = handlers.filter((h): h is PromHandler => Array.isArray((h as PromHandler).families));
  const expiry = new Map<string, { expiryMs: number; checkMs: number }>();
  for (const h of promHandlers) if (h.expiry) for (const f of h.families) expiry.set(f.name, h.expiry);
  opts.ctx.prom.install(
    promHandlers.flatMap((h) => h.families),
    expiry,
  );
  const runtime = new Runtime(rules, handlers, defaultNs, {
    rules: rules.length,
    instances: instances.size,
    handlers: handlers.length,
  });
  return { runtime, errors };
}
