// The Check algorithm (Istio mixer/pkg/api/grpcServer.go and runtime/dispatcher): rules selected by
// identity namespace, CHECK instances dispatched to handlers, results combined, then QUOTA.
import { type Bag, EvaluationError, ReferencedAttributes } from '@keel/attributes';
import { type CheckResult, Code, DEFAULT_CHECK, type QuotaInstance } from '../adapters/types.js';
import type { Action, HeaderOp, PolicyConfig, RuleEntry } from '../config/compile.js';

export interface HeaderOperation {
  name: string;
  value: string;
  operation: 'REPLACE' | 'REMOVE' | 'APPEND';
}

/** A precondition decision: the combined status and validity, header operations, what was read. */
export interface Decision extends CheckResult {
  requestHeaderOps: HeaderOperation[];
  responseHeaderOps: HeaderOperation[];
  /** Handlers that answered (full names), for metrics and events. */
  handlers: string[];
  /** The handler whose status decided a denial. */
  deniedBy?: string;
}

export interface QuotaOutcome {
  name: string;
  amount: number;
  granted: number;
  validDurationMs: number;
  code: number;
  message: string;
  handler?: string;
}

/** Counters the dispatcher reports (mixer_runtime_dispatches_total and handler errors). */
export interface DispatchObserver {
  dispatch(handler: string, adapter: string, durationS: number, error: boolean): void;
  matchError(rule: string, error: string): void;
}

const silent: DispatchObserver = { dispatch() {}, matchError() {} };

/** `inbound` (default) selects rules by destination.namespace, `outbound` by source.namespace. */
export function identityNamespace(bag: Bag, refs: ReferencedAttributes): string {
  const kind = bag.get('context.reporter.kind');
  refs.attr('context.reporter.kind', kind !== undefined);
  const attr = kind === 'outbound' ? 'source.namespace' : 'destination.namespace';
  const ns = bag.get(attr);
  refs.attr(attr, ns !== undefined);
  return typeof ns === 'string' ? ns : '';
}

/** The rules that apply: the identity namespace's and the default namespace's. */
export function rulesFor(config: PolicyConfig, ns: string): RuleEntry[] {
  const own = config.rulesByNamespace.get(ns) ?? [];
  if (ns === config.defaultNamespace) return [...own];
  return [...(config.rulesByNamespace.get(config.defaultNamespace) ?? []), ...own];
}

function matches(rule: RuleEntry, bag: Bag, refs: ReferencedAttributes, obs: DispatchObserver): boolean {
  if (!rule.match) return true;
  try {
    return rule.match.evaluate(bag, refs) === true;
  } catch (e) {
    obs.matchError(rule.key, (e as Error).message);
    return false;
  }
}

function headerOps(
  ops: readonly HeaderOp[],
  bag: Bag,
  refs: ReferencedAttributes,
  out: HeaderOperation[],
): void {
  for (const op of ops) {
    if (op.operation === 'REMOVE' || op.values.length === 0) {
      out.push({ name: op.name, value: '', operation: op.operation });
      continue;
    }
    for (const v of op.values) {
      const r = v.tryEvaluate(bag, refs);
      if (r.ok) out.push({ name: op.name, value: String(r.value), operation: op.operation });
    }
  }
}

async function callCheck(
  action: Action,
  bag: Bag,
  refs: ReferencedAttributes,
  obs: DispatchObserver,
): Promise<CheckResult> {
  const start = performance.now();
  try {
    const insts = action.instances.map((i) => i.build(bag, refs));
    const r = await action.handler.handler.check!(insts as never);
    obs.dispatch(action.handler.key, action.handler.adapter, (performance.now() - start) / 1000, false);
    return r;
  } catch (e) {
    obs.dispatch(action.handler.key, action.handler.adapter, (performance.now() - start) / 1000, true);
    const message = e instanceof EvaluationError ? `instance: ${e.message}` : (e as Error).message;
    return { code: Code.INTERNAL, message, validDurationMs: 0, validUseCount: 0 };
  }
}

/**
 * Runs every matching rule's CHECK actions and combines them: the smallest validity, the first
 * non-OK code, messages `<handler>:<message>` joined by ", "; OK for 1 min / 10000 uses when no
 * handler answered. Every attribute read or found absent is recorded in refs.
 */
export async function dispatchCheck(
  config: PolicyConfig,
  bag: Bag,
  refs: ReferencedAttributes,
  obs: DispatchObserver = silent,
): Promise<Decision> {
  const ns = identityNamespace(bag, refs);
  const decision: Decision = { ...DEFAULT_CHECK, requestHeaderOps: [], responseHeaderOps: [], handlers: [] };
  let answered = false;
  const messages: string[] = [];
  for (const rule of rulesFor(config, ns)) {
    if (!matches(rule, bag, refs, obs)) continue;
    for (const action of rule.checks) {
      const r = await callCheck(action, bag, refs, obs);
      decision.handlers.push(action.handler.key);
      if (!answered) {
        decision.validDurationMs = r.validDurationMs;
        decision.validUseCount = r.validUseCount;
        answered = true;
      } else {
        decision.validDurationMs = Math.min(decision.validDurationMs, r.validDurationMs);
        decision.validUseCount = Math.min(decision.validUseCount, r.validUseCount);
      }
      if (r.code !== Code.OK) {
        if (decision.code === Code.OK) {
          decision.code = r.code;
          decision.deniedBy = action.handler.key;
        }
        messages.push(`${action.handler.key}:${r.message}`);
      }
    }
    headerOps(rule.requestHeaderOps, bag, refs, decision.requestHeaderOps);
    headerOps(rule.responseHeaderOps, bag, refs, decision.responseHeaderOps);
  }
  decision.message = messages.join(', ');
  return decision;
}

/**
 * Charges one quota: the QUOTA actions of matching rules whose instance short name is the quota's
 * name. A quota no rule handles is granted in full (valid 1 min), as Istio does.
 */
export async function dispatchQuota(
  config: PolicyConfig,
  bag: Bag,
  quota: { name: string; amount: number; bestEffort: boolean },
  dedupId: string,
  obs: DispatchObserver = silent,
): Promise<QuotaOutcome> {
  const refs = new ReferencedAttributes();
  const ns = identityNamespace(bag, refs);
  for (const rule of rulesFor(config, ns)) {
    for (const action of rule.quotas) {
      const inst = action.instances.find((i) => i.shortName === quota.name);
      if (!inst || !matches(rule, bag, refs, obs)) continue;
      const start = performance.now();
      try {
        const built = inst.build(bag, refs) as QuotaInstance;
        const r = await action.handler.handler.quota!(built, {
          dedupId: dedupId + quota.name,
          amount: quota.amount,
          bestEffort: quota.bestEffort,
        });
        obs.dispatch(action.handler.key, action.handler.adapter, (performance.now() - start) / 1000, false);
        return { name: quota.name, amount: quota.amount, ...r, handler: action.handler.key };
      } catch (e) {
        obs.dispatch(action.handler.key, action.handler.adapter, (performance.now() - start) / 1000, true);
        return {
          name: quota.name,
          amount: quota.amount,
          granted: 0,
          validDurationMs: 0,
          code: Code.INTERNAL,
          message: (e as Error).message,
          handler: action.handler.key,
        };
      }
    }
  }
  return {
    name: quota.name,
    amount: quota.amount,
    granted: quota.amount,
    validDurationMs: 60_000,
    code: Code.OK,
    message: '',
  };
}
