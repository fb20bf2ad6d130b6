// The prometheus adapter (metric template): configured families on --metrics-port (42422).
import type { HandlerConfig } from '../config/model.js';
import { type Obj, pick, pickObj, pickString } from '../config/params.js';
import type { CompiledInstance, MetricInstance } from '../config/templates.js';
import { parseDurationMs } from '../duration.js';
import {
  type BucketsSpec,
  bucketBounds,
  KEY_SEP,
  type MetricFamily,
  type MetricKind,
} from '../prom/family.js';
import type { AdapterContext, AdapterFactory, BuildResult, HandlerImpl } from './types.js';

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const KINDS = new Set<MetricKind>(['COUNTER', 'GAUGE', 'DISTRIBUTION']);

interface Route {
  family: MetricFamily;
  /** For each label, the index of the instance dimension that fills it. */
  labelIdx: number[];
  /** Labels are the instance's dimensions in order: its key can be used as is. */
  identity: boolean;
  scratch: string[];
}

export interface PromHandler extends HandlerImpl {
  families: MetricFamily[];
  expiry?: { expiryMs: number; checkMs: number };
}

/** `name.instance.ns`, `name.metric.ns` and `name` (in the handler's namespace) all name one instance. */
function sameInstance(ref: string, inst: CompiledInstance, handlerNs: string): boolean {
  if (ref === inst.fqn) return true;
  const parts = ref.split('.');
  if (parts.length === 1) return parts[0] === inst.name && inst.namespace === handlerNs;
  return parts[0] === inst.name && parts.slice(2).join('.') === inst.namespace;
}

function build(h: HandlerConfig, instances: readonly CompiledInstance[], ctx: AdapterContext): BuildResult {
  const errors: string[] = [];
  const defs = (Array.isArray(pick(h.params, 'metrics')) ? pick(h.params, 'metrics') : []) as Obj[];
  const routes = new Map<CompiledInstance, Route[]>();
  const families: MetricFamily[] = [];
  for (let i = 0; i < defs.length; i++) {
    const d = defs[i]!;
    const at = `metrics[${i}]`;
    const base = pickString(d, 'name') ?? '';
    const ns = pickString(d, 'namespace') ?? 'istio';
    const name = ns ? `${ns}_${base}` : base;
    const kind = (pickString(d, 'kind') ?? '') as MetricKind;
    const labels = ((pick(d, 'labelNames') ?? []) as unknown[]).map(String);
    const instName = pickString(d, 'instanceName') ?? '';
    if (!base || !NAME_RE.test(name)) {
      errors.push(`${at}.name: '${name}' is not a valid Prometheus metric name`);
      continue;
    }
    if (!KINDS.has(kind)) {
      errors.push(`${at}.kind: '${kind}' must be COUNTER, GAUGE or DISTRIBUTION`);
      continue;
    }
    const badLabel = labels.find((l) => !LABEL_RE.test(l));
    if (badLabel !== undefined) {
      errors.push(`${at}.labelNames: '${badLabel}' is not a valid label name`);
      continue;
    }
    let bounds: number[] = [];
    if (kind === 'DISTRIBUTION') {
      const b = bucketBounds(pickObj(d, 'buckets') as BucketsSpec | undefined);
      if (!b.ok) {
        errors.push(`${at}.buckets: ${b.errors}`);
        continue;
      }
      bounds = b.value;
    }
    const family = ctx.prom.family(name, pickString(d, 'description') ?? '', kind, labels, bounds);
    families.push(family);
    for (const inst of instances) {
      if (inst.template !== 'metric' || !sameInstance(instName, inst, h.namespace)) continue;
      const labelIdx = labels.map((l) => inst.dimNames.indexOf(l));
      const missing = labels.filter((_, j) => labelIdx[j]! < 0);
      if (missing.length > 0) {
        errors.push(`${at}: instance ${inst.fqn} has no dimension for label(s) ${missing.join(', ')}`);
        continue;
      }
      const identity = labels.length === inst.dimNames.length && labelIdx.every((x, j) => x === j);
      const list = routes.get(inst) ?? [];
      list.push({ family, labelIdx, identity, scratch: labels.map(() => '') });
      routes.set(inst, list);
    }
  }
  const names = families.map((f) => f.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) errors.push(`metric '${dup}' is defined twice`);
  if (errors.length > 0) return { ok: false, errors: errors.join('; ') };
  const policy = pickObj(h.params, 'metricsExpirationPolicy');
  let expiry: PromHandler['expiry'];
  if (policy) {
    const expiryMs = parseDurationMs(pick(policy, 'metricsExpiryDuration'));
    const checkMs = parseDurationMs(pick(policy, 'expiryCheckIntervalDuration'));
    if (expiryMs === undefined || expiryMs <= 0) {
      return {
        ok: false,
        errors: 'metrics_expiration_policy.metrics_expiry_duration must be a positive duration',
      };
    }
    expiry = { expiryMs, checkMs: checkMs && checkMs > 0 ? checkMs : Math.max(expiryMs / 2, 1000) };
  }
  const handler: PromHandler = {
    fqn: h.fqn,
    families,
    ...(expiry ? { expiry } : {}),
    handle(inst, now) {
      const list = routes.get(inst);
      if (!list) return;
      const m = inst as MetricInstance;
      for (const r of list) {
        if (r.identity) {
          r.family.record(m.key, m.dimValues, m.num, now);
          continue;
        }
        let key = '';
        for (let j = 0; j < r.labelIdx.length; j++) {
          const v = m.dimValues[r.labelIdx[j]!]!;
          r.scratch[j] = v;
          key = j === 0 ? v : key + KEY_SEP + v;
        }
        r.family.record(key, r.scratch, m.num, now);
      }
    },
    flush() {},
    close() {},
  };
  return { ok: true, value: handler };
}

export const prometheusAdapter: AdapterFactory = { templates: new Set(['metric']), build };
