// Instances of the REPORT templates (metric, logentry, tracespan, reportnothing) compiled to
// expressions, and their per-entry evaluation into reusable scratch slots.
import { type AttrValue, type Bag, toLabel, toNumber } from '../bag.js';
import type { Expression, ExpressionCompiler } from './expression.js';
import type { InstanceConfig } from './model.js';
import { camelName, exprText, type Obj, pick, pickObj } from './params.js';

interface Base {
  fqn: string;
  name: string;
  namespace: string;
  /** Evaluation generation this instance's scratch values belong to. */
  gen: number;
  /** The last evaluation succeeded. */
  ok: boolean;
  /** Why the last evaluation failed. */
  error: string;
}

/**
 * Dimensions shared by metric instances with identical dimension expressions (the four HTTP
 * metrics of the default config): evaluated once per entry, and the joined key is one string
 * object, so each family's Map lookup reuses its cached hash.
 */
export interface DimGroup {
  gen: number;
  ok: boolean;
  error: string;
  dims: Expression[];
  dimNames: string[];
  dimValues: string[];
  key: string;
}

export interface MetricInstance extends Base {
  template: 'metric';
  value: Expression;
  dimNames: string[];
  dims: Expression[];
  group: DimGroup;
  /** Scratch: the evaluated value, dimension strings (the group's), and their KEY_SEP join. */
  num: number;
  dimValues: string[];
  key: string;
}

/** The signature two metric instances share when their dimensions are the same expressions in the same order. */
export function dimSignature(inst: MetricInstance): string {
  return inst.dims.map((d, i) => `${inst.dimNames[i]}=${d.text}`).join('\u0000');
}

export interface LogInstance extends Base {
  template: 'logentry';
  varNames: string[];
  vars: Expression[];
  timestamp?: Expression;
  severity?: Expression;
  /** Scratch: variable values (undefined when absent). */
  varValues: (AttrValue | undefined)[];
  time: Date;
  level: string;
}

export const SPAN_FIELDS = [
  'trace_id',
  'span_id',
  'parent_span_id',
  'span_name',
  'start_time',
  'end_time',
  'http_status_code',
  'client_span',
  'rewrite_client_span_id',
  'source_name',
  'source_ip',
  'destination_name',
  'destination_ip',
  'request_size',
  'request_total_size',
  'response_size',
  'response_total_size',
  'api_protocol',
] as const;
export type SpanField = (typeof SPAN_FIELDS)[number];

export interface SpanInstance extends Base {
  template: 'tracespan';
  fields: Partial<Record<SpanField, Expression>>;
  tagNames: string[];
  tags: Expression[];
  /** Scratch: evaluated fields and tags. */
  values: Partial<Record<SpanField, AttrValue>>;
  tagValues: (AttrValue | undefined)[];
}

export interface NothingInstance extends Base {
  template: 'reportnothing';
}

export type CompiledInstance = MetricInstance | LogInstance | SpanInstance | NothingInstance;

/** REPORT templates this service dispatches; CHECK/QUOTA/generator templates belong elsewhere. */
export const REPORT_TEMPLATES = new Set(['metric', 'logentry', 'tracespan', 'reportnothing']);

type Compiled<T> = { ok: true; value: T } | { ok: false; errors: string[] };

function compileField(
  c: ExpressionCompiler,
  field: string,
  raw: unknown,
  errors: string[],
): Expression | undefined {
  const text = exprText(raw);
  if (text === undefined) {
    errors.push(`${field}: expected an expression string`);
    return undefined;
  }
  const r = c.compile(text);
  if (!r.ok) {
    errors.push(`${field}: ${r.errors}`);
    return undefined;
  }
  return r.value;
}

function compileMap(c: ExpressionCompiler, field: string, raw: Obj | undefined, errors: string[]) {
  const names: string[] = [];
  const exprs: Expression[] = [];
  for (const [k, v] of Object.entries(raw ?? {})) {
    const e = compileField(c, `${field}.${k}`, v, errors);
    if (e) {
      names.push(k);
      exprs.push(e);
    }
  }
  return { names, exprs };
}

/** Compiles one instance of a REPORT template; every bad field is reported. */
export function compileInstance(cfg: InstanceConfig, c: ExpressionCompiler): Compiled<CompiledInstance> {
  const errors: string[] = [];
  const base = { fqn: cfg.fqn, name: cfg.name, namespace: cfg.namespace, gen: -1, ok: false, error: '' };
  const p = cfg.params;
  const opt = (field: string): Expression | undefined => {
    const raw = pick(p, field);
    return raw === undefined ? undefined : compileField(c, field, raw, errors);
  };
  let inst: CompiledInstance | undefined;
  if (cfg.template === 'metric') {
    const value = compileField(c, 'value', pick(p, 'value'), errors);
    const dims = compileMap(c, 'dimensions', pickObj(p, 'dimensions'), errors);
    if (value) {
      const dimValues = dims.names.map(() => '');
      const group: DimGroup = {
        gen: -1,
        ok: false,
        error: '',
        dims: dims.exprs,
        dimNames: dims.names,
        dimValues,
        key: '',
      };
      inst = {
        ...base,
        template: 'metric',
        value,
        dimNames: dims.names,
        dims: dims.exprs,
        group,
        num: 0,
        dimValues,
        key: '',
      };
    }
  } else if (cfg.template === 'logentry') {
    const vars = compileMap(c, 'variables', pickObj(p, 'variables'), errors);
    const timestamp = opt('timestamp');
    const severity = opt('severity');
    inst = {
      ...base,
      template: 'logentry',
      varNames: vars.names,
      vars: vars.exprs,
      ...(timestamp ? { timestamp } : {}),
      ...(severity ? { severity } : {}),
      varValues: [],
      time: new Date(0),
      level: '',
    };
  } else if (cfg.template === 'tracespan') {
    const fields: Partial<Record<SpanField, Expression>> = {};
    for (const f of SPAN_FIELDS) {
      const e = opt(camelName(f));
      if (e) fields[f] = e;
    }
    const tags = compileMap(c, 'span_tags', pickObj(p, 'spanTags'), errors);
    inst = {
      ...base,
      template: 'tracespan',
      fields,
      tagNames: tags.names,
      tags: tags.exprs,
      values: {},
      tagValues: [],
    };
  } else if (cfg.template === 'reportnothing') {
    inst = { ...base, template: 'reportnothing' };
  } else {
    errors.push(`template '${cfg.template}' is not a REPORT template this service dispatches`);
  }
  if (errors.length > 0 || !inst) return { ok: false, errors };
  return { ok: true, value: inst };
}

/** Evaluates `inst` on `bag` into its scratch slots (once per generation); returns inst.ok. */
export function evaluateInstance(inst: CompiledInstance, bag: Bag, gen: number): boolean {
  if (inst.gen === gen) return inst.ok;
  inst.gen = gen;
  inst.ok = false;
  switch (inst.template) {
    case 'metric': {
      const v = inst.value.evaluate(bag);
      const n = v === undefined ? undefined : toNumber(v);
      if (n === undefined) {
        inst.error = `value '${inst.value.text}' ${v === undefined ? 'is absent' : 'is not a number'}`;
        return false;
      }
      inst.num = n;
      const g = inst.group;
      if (g.gen !== gen) evaluateDims(g, bag, gen);
      if (!g.ok) {
        inst.error = g.error;
        return false;
      }
      inst.dimValues = g.dimValues;
      inst.key = g.key;
      break;
    }
    case 'logentry': {
      inst.varValues = inst.vars.map((e) => e.evaluate(bag));
      const t = inst.timestamp?.evaluate(bag);
      inst.time = t instanceof Date ? t : new Date();
      const s = inst.severity?.evaluate(bag);
      inst.level = typeof s === 'string' ? s : '';
      break;
    }
    case 'tracespan': {
      const values: Partial<Record<SpanField, AttrValue>> = {};
      for (const f of SPAN_FIELDS) {
        const e = inst.fields[f];
        const v = e?.evaluate(bag);
        if (v !== undefined) values[f] = v;
      }
      inst.values = values;
      inst.tagValues = inst.tags.map((e) => e.evaluate(bag));
      break;
    }
    case 'reportnothing':
      break;
  }
  inst.ok = true;
  return true;
}

function evaluateDims(g: DimGroup, bag: Bag, gen: number): void {
  g.gen = gen;
  g.ok = false;
  let key = '';
  for (let i = 0; i < g.dims.length; i++) {
    const d = g.dims[i]!.evaluate(bag);
    if (d === undefined) {
      g.error = `dimension '${g.dimNames[i]}' (${g.dims[i]!.text}) is absent`;
      return;
    }
    const s = toLabel(d);
    g.dimValues[i] = s;
    key = i === 0 ? s : `${key}\u0000${s}`;
  }
  g.key = key;
  g.ok = true;
}
