// Type checker: an expression against an attribute manifest, at config time, with positions.
import type { Result } from '@keel/runtime';
import type { AttributeValue, ValueTypeName } from '../values.js';
import { parseGoDuration } from '../values.js';
import type { AttributeManifest } from '../vocabulary.js';
import type { FunctionDef } from './functions.js';
import { compileRegex, EvaluationError, FUNCTIONS } from './functions.js';
import type { BinaryOp, Node } from './parse.js';
import { ExprError, parseExpression, positionOf } from './parse.js';

/** A checked expression tree: every node has its type; literals are converted to their final values. */
export type TNode =
  | { k: 'lit'; type: ValueTypeName; value: AttributeValue }
  | { k: 'attr'; type: ValueTypeName; name: string }
  | { k: 'index'; type: 'STRING'; target: TNode; key: TNode }
  | { k: 'call'; type: ValueTypeName; fn: FunctionDef; target?: TNode; args: TNode[] }
  | { k: 'not'; type: 'BOOL'; operand: TNode }
  | { k: 'bin'; type: ValueTypeName; op: BinaryOp; operandType: ValueTypeName; left: TNode; right: TNode };

class CheckError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

const ORDERED: ReadonlySet<ValueTypeName> = new Set(['INT64', 'DOUBLE', 'STRING', 'TIMESTAMP', 'DURATION']);
const ADDABLE: ReadonlySet<ValueTypeName> = new Set(['INT64', 'DOUBLE', 'STRING']);

/** Functions evaluated at check time when every argument is a literal (conversions report errors early). */
const FOLDABLE = new Set(['ip', 'timestamp', 'dnsName', 'email', 'uri', 'toLower', 'reverse', 'size']);

class Checker {
  constructor(private readonly manifest: AttributeManifest) {}

  check(n: Node): TNode {
    switch (n.kind) {
      case 'string':
        return { k: 'lit', type: 'STRING', value: n.value };
      case 'int':
        return { k: 'lit', type: 'INT64', value: n.value };
      case 'double':
        return { k: 'lit', type: 'DOUBLE', value: n.value };
      case 'bool':
        return { k: 'lit', type: 'BOOL', value: n.value };
      case 'attr': {
        const type = this.manifest.get(n.name);
        if (!type) throw new CheckError(n.pos, `unknown attribute ${n.name}`);
        return { k: 'attr', type, name: n.name };
      }
      case 'index': {
        const target = this.check(n.target);
        if (target.type !== 'STRING_MAP')
          throw new CheckError(n.pos, `cannot index a value of type ${target.type}`);
        const key = this.check(n.key);
        if (key.type !== 'STRING') throw new CheckError(n.key.pos, `map key must be STRING, got ${key.type}`);
        return { k: 'index', type: 'STRING', target, key };
      }
      case 'unary': {
        const operand = this.check(n.operand);
        if (n.op === '!') {
          if (operand.type !== 'BOOL')
            throw new CheckError(n.pos, `operator ! needs BOOL, got ${operand.type}`);
          if (operand.k === 'lit') return { k: 'lit', type: 'BOOL', value: !operand.value };
          return { k: 'not', type: 'BOOL', operand };
        }
        if (operand.k === 'lit' && (operand.type === 'INT64' || operand.type === 'DOUBLE'))
          return { k: 'lit', type: operand.type, value: -(operand.value as number) };
        throw new CheckError(n.pos, 'unary - applies only to number literals');
      }
      case 'binary':
        return this.binary(n);
      case 'call':
        return this.call(n);
    }
  }

  private binary(n: Extract<Node, { kind: 'binary' }>): TNode {
    let left = this.check(n.left);
    let right = this.check(n.right);
    [left, right] = [this.coerce(left, right.type, n.left.pos), this.coerce(right, left.type, n.right.pos)];
    const op = n.op;
    const mismatch = () =>
      new CheckError(n.pos, `operator ${op} needs operands of one type, got ${left.type} and ${right.type}`);
    switch (op) {
      case '&&':
      case '||':
        if (left.type !== 'BOOL' || right.type !== 'BOOL')
          throw new CheckError(
            n.pos,
            `operator ${op} needs BOOL operands, got ${left.type} and ${right.type}`,
          );
        return { k: 'bin', type: 'BOOL', op, operandType: 'BOOL', left, right };
      case '==':
      case '!=':
        if (left.type !== right.type) throw mismatch();
        return { k: 'bin', type: 'BOOL', op, operandType: left.type, left, right };
      case '<':
      case '<=':
      case '>':
      case '>=':
        if (left.type !== right.type) throw mismatch();
        if (!ORDERED.has(left.type))
          throw new CheckError(n.pos, `operator ${op} does not apply to ${left.type}`);
        return { k: 'bin', type: 'BOOL', op, operandType: left.type, left, right };
      case '+':
        if (left.type !== right.type) throw mismatch();
        if (!ADDABLE.has(left.type)) throw new CheckError(n.pos, `operator + does not apply to ${left.type}`);
        return { k: 'bin', type: left.type, op, operandType: left.type, left, right };
      case '|':
        if (left.type !== right.type) throw mismatch();
        return { k: 'bin', type: left.type, op, operandType: left.type, left, right };
    }
  }

  private call(n: Extract<Node, { kind: 'call' }>): TNode {
    const fn = FUNCTIONS.get(n.name);
    if (!fn) throw new CheckError(n.pos, `unknown function ${n.name}`);
    let target: TNode | undefined;
    if (fn.target) {
      if (!n.target) throw new CheckError(n.pos, `${n.name} is a method: write x.${n.name}(...)`);
      target = this.check(n.target);
      if (target.type !== fn.target)
        throw new CheckError(n.target.pos, `${n.name} needs a ${fn.target} receiver, got ${target.type}`);
    } else if (n.target) throw new CheckError(n.pos, `${n.name} is a function, not a method`);
    if (n.args.length !== fn.params.length)
      throw new CheckError(n.pos, `${n.name} takes ${fn.params.length} argument(s), got ${n.args.length}`);
    const args = n.args.map((a) => this.check(a));
    let generic: ValueTypeName | undefined;
    fn.params.forEach((p, i) => {
      if (p === 'T')
        generic ??= args[i]!.type === 'STRING' && args[i]!.k === 'lit' ? undefined : args[i]!.type;
    });
    generic ??= fn.params.includes('T') ? args[fn.params.indexOf('T')]!.type : undefined;
    fn.params.forEach((p, i) => {
      const want = p === 'T' ? generic! : p;
      args[i] = this.coerce(args[i]!, want, n.args[i]!.pos);
      if (args[i]!.type !== want)
        throw new CheckError(
          n.args[i]!.pos,
          `argument ${i + 1} of ${n.name} must be ${want}, got ${args[i]!.type}`,
        );
    });
    const type = fn.result === 'T' ? generic! : fn.result;
    if (fn.name === 'matches' && target?.k === 'lit') {
      try {
        compileRegex(target.value as string);
      } catch (e) {
        if (e instanceof EvaluationError) throw new CheckError(n.target!.pos, e.message);
        throw e;
      }
    }
    if (FOLDABLE.has(fn.name) && args.every((a) => a.k === 'lit')) {
      try {
        return { k: 'lit', type, value: fn.impl(...args.map((a) => (a as { value: AttributeValue }).value)) };
      } catch (e) {
        if (e instanceof EvaluationError) throw new CheckError(n.pos, e.message);
        throw e;
      }
    }
    return { k: 'call', type, fn, target, args };
  }

  /** A string literal where a DURATION is wanted becomes a duration (`response.duration | "0ms"`). */
  coerce(node: TNode, want: ValueTypeName, pos: number): TNode {
    if (node.k === 'lit' && node.type === 'STRING' && want === 'DURATION') {
      const d = parseGoDuration(node.value as string);
      if (!d) throw new CheckError(pos, `invalid duration ${JSON.stringify(node.value)}`);
      return { k: 'lit', type: 'DURATION', value: d };
    }
    return node;
  }
}

/** A checked expression: its tree and result type. */
export interface CheckedExpression {
  readonly text: string;
  readonly type: ValueTypeName;
  readonly tree: TNode;
}

/**
 * Parses and type-checks an expression. With `expected`, the result must have that type (a
 * string literal is accepted where a DURATION is expected).
 */
export function checkExpression(
  text: string,
  manifest: AttributeManifest,
  expected?: ValueTypeName,
): Result<CheckedExpression, ExprError[]> {
  const parsed = parseExpression(text);
  if (!parsed.ok) return parsed;
  const checker = new Checker(manifest);
  try {
    let tree = checker.check(parsed.value);
    if (expected) {
      tree = checker.coerce(tree, expected, parsed.value.pos);
      if (tree.type !== expected)
        throw new CheckError(parsed.value.pos, `expression has type ${tree.type}, want ${expected}`);
    }
    return { ok: true, value: { text, type: tree.type, tree } };
  } catch (e) {
    if (e instanceof CheckError)
      return { ok: false, errors: [new ExprError(positionOf(text, e.offset), e.message)] };
    throw e;
  }
}
