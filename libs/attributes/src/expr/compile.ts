// Compiles a checked expression once into closures: evaluation never walks the tree again.
import type { Result } from '@keel/runtime';
import type { Bag, ReferencedAttributes } from '../bag.js';
import type { AttributeValue, ValueTypeName } from '../values.js';
import type { AttributeManifest } from '../vocabulary.js';
import type { CheckedExpression, TNode } from './check.js';
import { checkExpression } from './check.js';
import { compileRegex, EvaluationError, equalityFor, ordinal } from './functions.js';
import type { ExprError } from './parse.js';

/** An evaluator: the value, or undefined when absent (only in optional mode, under `|`). */
type Fn = (bag: Bag, refs: ReferencedAttributes | undefined) => AttributeValue | undefined;

/** A compiled expression; `evaluate` throws EvaluationError (a missing attribute outside `|`, a bad conversion). */
export interface CompiledExpression {
  readonly text: string;
  readonly type: ValueTypeName;
  /** The attribute names the expression may read. */
  readonly attributes: readonly string[];
  /** Evaluates against a bag, recording what it read (or found absent) in refs. */
  evaluate(bag: Bag, refs?: ReferencedAttributes): AttributeValue;
  /** As evaluate, but failures are values. */
  tryEvaluate(bag: Bag, refs?: ReferencedAttributes): Result<AttributeValue, string>;
}

function absent(what: string): never {
  throw new EvaluationError(`lookup failed: '${what}'`);
}

function compileNode(n: TNode, optional: boolean): Fn {
  switch (n.k) {
    case 'lit': {
      const v = n.value;
      return () => v;
    }
    case 'attr': {
      const name = n.name;
      if (optional)
        return (b, r) => {
          const v = b.get(name);
          r?.attr(name, v !== undefined);
          return v;
        };
      return (b, r) => {
        const v = b.get(name);
        r?.attr(name, v !== undefined);
        return v === undefined ? absent(name) : v;
      };
    }
    case 'index':
      return compileIndex(n, optional);
    case 'not': {
      const f = compileNode(n.operand, optional);
      return (b, r) => {
        const v = f(b, r);
        return v === undefined ? undefined : !v;
      };
    }
    case 'bin':
      return compileBinary(n, optional);
    case 'call':
      return compileCall(n, optional);
  }
}

function compileIndex(n: Extract<TNode, { k: 'index' }>, optional: boolean): Fn {
  const key = compileNode(n.key, optional);
  if (n.target.k === 'attr') {
    // Reading one key of a map records that key, not the whole map.
    const name = n.target.name;
    return (b, r) => {
      const m = b.get(name) as ReadonlyMap<string, string> | undefined;
      if (m === undefined) {
        r?.attr(name, false);
        return optional ? undefined : absent(name);
      }
      const k = key(b, r) as string | undefined;
      if (k === undefined) return undefined;
      const v = m.get(k);
      r?.mapKey(name, k, v !== undefined);
      return v === undefined && !optional ? absent(`${name}[${k}]`) : v;
    };
  }
  const target = compileNode(n.target, optional);
  return (b, r) => {
    const m = target(b, r) as ReadonlyMap<string, string> | undefined;
    if (m === undefined) return undefined;
    const k = key(b, r) as string | undefined;
    if (k === undefined) return undefined;
    const v = m.get(k);
    return v === undefined && !optional ? absent(`[${k}]`) : v;
  };
}

function compileBinary(n: Extract<TNode, { k: 'bin' }>, optional: boolean): Fn {
  if (n.op === '|') {
    const l = compileNode(n.left, true);
    const rr = compileNode(n.right, optional);
    return (b, r) => {
      const v = l(b, r);
      return v !== undefined ? v : rr(b, r);
    };
  }
  const l = compileNode(n.left, optional);
  const rt = compileNode(n.right, optional);
  switch (n.op) {
    case '&&':
      return (b, r) => {
        const x = l(b, r);
        if (x === undefined || x === false) return x;
        return rt(b, r);
      };
    case '||':
      return (b, r) => {
        const x = l(b, r);
        if (x === undefined || x === true) return x;
        return rt(b, r);
      };
    case '==':
    case '!=': {
      const eq = equalityFor(n.operandType);
      const want = n.op === '==';
      if (n.right.k === 'lit' && eq === equalityFor('STRING')) {
        const c = n.right.value;
        return (b, r) => {
          const x = l(b, r);
          return x === undefined ? undefined : (x === c) === want;
        };
      }
      return (b, r) => {
        const x = l(b, r);
        if (x === undefined) return undefined;
        const y = rt(b, r);
        return y === undefined ? undefined : eq(x, y) === want;
      };
    }
    case '+':
      return (b, r) => {
        const x = l(b, r);
        if (x === undefined) return undefined;
        const y = rt(b, r);
        return y === undefined ? undefined : (x as any) + (y as any);
      };
    default: {
      const cmp = COMPARATORS[n.op];
      return (b, r) => {
        const x = l(b, r);
        if (x === undefined) return undefined;
        const y = rt(b, r);
        return y === undefined ? undefined : cmp(ordinal(x), ordinal(y));
      };
    }
  }
}

const COMPARATORS: Record<string, (a: number | string, b: number | string) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

function compileCall(n: Extract<TNode, { k: 'call' }>, optional: boolean): Fn {
  const args = n.args.map((a) => compileNode(a, optional));
  if (n.fn.name === 'conditional' || n.fn.name === 'conditionalString') {
    const [c, a, e] = args as [Fn, Fn, Fn];
    return (b, r) => {
      const x = c(b, r);
      if (x === undefined) return undefined;
      return x ? a(b, r) : e(b, r);
    };
  }
  if (n.fn.name === 'matches' && n.target?.k === 'lit') {
    const re = compileRegex(n.target.value as string);
    const s = args[0]!;
    return (b, r) => {
      const x = s(b, r) as string | undefined;
      return x === undefined ? undefined : re.test(x);
    };
  }
  const impl = n.fn.impl;
  const all = n.target ? [compileNode(n.target, optional), ...args] : args;
  if (all.length === 1) {
    const a0 = all[0]!;
    return (b, r) => {
      const x = a0(b, r);
      return x === undefined ? undefined : impl(x);
    };
  }
  if (all.length === 2) {
    const [a0, a1] = all as [Fn, Fn];
    return (b, r) => {
      const x = a0(b, r);
      if (x === undefined) return undefined;
      const y = a1(b, r);
      return y === undefined ? undefined : impl(x, y);
    };
  }
  return (b, r) => {
    const vals: AttributeValue[] = [];
    for (const f of all) {
      const v = f(b, r);
      if (v === undefined) return undefined;
      vals.push(v);
    }
    return impl(...vals);
  };
}

function attributesOf(n: TNode, out: Set<string>): Set<string> {
  switch (n.k) {
    case 'attr':
      out.add(n.name);
      break;
    case 'index':
      attributesOf(n.target, out);
      attributesOf(n.key, out);
      break;
    case 'not':
      attributesOf(n.operand, out);
      break;
    case 'bin':
      attributesOf(n.left, out);
      attributesOf(n.right, out);
      break;
    case 'call':
      if (n.target) attributesOf(n.target, out);
      for (const a of n.args) attributesOf(a, out);
      break;
  }
  return out;
}

/** Compiles a checked expression into closures. */
export function compileChecked(checked: CheckedExpression): CompiledExpression {
  const fn = compileNode(checked.tree, false);
  const text = checked.text;
  return {
    text,
    type: checked.type,
    attributes: [...attributesOf(checked.tree, new Set())].sort(),
    evaluate(bag, refs) {
      return fn(bag, refs)!;
    },
    tryEvaluate(bag, refs) {
      try {
        return { ok: true, value: fn(bag, refs)! };
      } catch (e) {
        if (e instanceof EvaluationError) return { ok: false, errors: e.message };
        return { ok: false, errors: `evaluating ${JSON.stringify(text)}: ${(e as Error).message}` };
      }
    },
  };
}

/** Parses, type-checks (against the manifest, optionally for an expected type) and compiles. */
export function compileExpression(
  text: string,
  manifest: AttributeManifest,
  expected?: ValueTypeName,
): Result<CompiledExpression, ExprError[]> {
  const checked = checkExpression(text, manifest, expected);
  if (!checked.ok) return checked;
  return { ok: true, value: compileChecked(checked.value) };
}
