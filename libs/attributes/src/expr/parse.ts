// Parser for Mixer's expression language (CEXL): the subset of Go expression syntax Istio 1.4 accepts.
import type { Result } from '@keel/runtime';

/** Longest expression text accepted, and deepest nesting. */
export const MAX_EXPRESSION_LENGTH = 16 * 1024;
export const MAX_EXPRESSION_DEPTH = 64;

/** A position in the expression text: 0-based offset, 1-based line and column. */
export interface Position {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

/** An error in an expression, with where it is. */
export class ExprError {
  constructor(
    readonly pos: Position,
    readonly message: string,
  ) {}
  toString(): string {
    return `${this.pos.line}:${this.pos.column}: ${this.message}`;
  }
}

export type BinaryOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||' | '+' | '|';

export type Node =
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'int'; value: number; pos: number }
  | { kind: 'double'; value: number; pos: number }
  | { kind: 'bool'; value: boolean; pos: number }
  | { kind: 'attr'; name: string; pos: number }
  | { kind: 'index'; target: Node; key: Node; pos: number }
  | { kind: 'call'; name: string; target?: Node; args: Node[]; pos: number }
  | { kind: 'unary'; op: '!' | '-'; operand: Node; pos: number }
  | { kind: 'binary'; op: BinaryOp; left: Node; right: Node; pos: number };

type Tok =
  | { t: 'ident'; v: string; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'int' | 'double'; v: number; pos: number }
  | { t: 'op'; v: string; pos: number }
  | { t: 'eof'; pos: number };

/** Offset -> line and column in text. */
export function positionOf(text: string, offset: number): Position {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return { offset, line, column: col };
}

class ParseError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '|', '+', '-', '!', '(', ')', '[', ']', ',', '.'];
const UNSUPPORTED = ['*', '/', '%', '^', '&', '=', '{', '}', ':', ';', '?', "'"];

function lex(text: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < text.length && /[\w]/.test(text[i]!)) i++;
      toks.push({ t: 'ident', v: text.slice(start, i), pos: start });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(?:0[xX][0-9a-fA-F]+|\d*\.\d+(?:[eE][+-]?\d+)?|\d+\.?\d*(?:[eE][+-]?\d+)?)/.exec(
        text.slice(i),
      );
      const lit = m![0];
      i += lit.length;
      if (/[A-Za-z_]/.test(text[i] ?? ''))
        throw new ParseError(start, `invalid number literal ${lit}${text[i]}`);
      const isDouble = /[.eE]/.test(lit) && !/^0[xX]/.test(lit);
      const v = Number(lit);
      if (!isDouble && !Number.isSafeInteger(v))
        throw new ParseError(start, `integer literal ${lit} out of range`);
      toks.push({ t: isDouble ? 'double' : 'int', v, pos: start });
      continue;
    }
    if (c === '"') {
      i++;
      let out = '';
      for (;;) {
        if (i >= text.length || text[i] === '\n')
          throw new ParseError(start, 'string literal not terminated');
        const d = text[i]!;
        if (d === '"') break;
        if (d === '\\') {
          const [s, n] = readEscape(text, i);
          out += s;
          i = n;
          continue;
        }
        out += d;
        i++;
      }
      i++;
      toks.push({ t: 'string', v: out, pos: start });
      continue;
    }
    if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) throw new ParseError(start, 'raw string literal not terminated');
      toks.push({ t: 'string', v: text.slice(i + 1, end), pos: start });
      i = end + 1;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op) {
      toks.push({ t: 'op', v: op, pos: start });
      i += op.length;
      continue;
    }
    if (UNSUPPORTED.includes(c)) throw new ParseError(start, `unsupported operator or character '${c}'`);
    throw new ParseError(start, `unexpected character ${JSON.stringify(c)}`);
  }
  toks.push({ t: 'eof', pos: text.length });
  return toks;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

function readEscape(text: string, i: number): [string, number] {
  const e = text[i + 1];
  if (e !== undefined && e in SIMPLE_ESCAPES) return [SIMPLE_ESCAPES[e]!, i + 2];
  const hex = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
  if (hex > 0) {
    const h = text.slice(i + 2, i + 2 + hex);
    if (h.length === hex && /^[0-9a-fA-F]+$/.test(h)) {
      const cp = Number.parseInt(h, 16);
      if (cp <= 0x10ffff) return [String.fromCodePoint(cp), i + 2 + hex];
    }
  }
  throw new ParseError(i, `invalid escape sequence \\${e ?? ''}`);
}

const PRECEDENCE: Record<string, number> = {
  '||': 1,
  '&&': 2,
  '==': 3,
  '!=': 3,
  '<': 3,
  '<=': 3,
  '>': 3,
  '>=': 3,
  '+': 4,
  '|': 4,
  '-': 4,
};

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private next(): Tok {
    return this.toks[this.i++]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  private expectOp(v: string): void {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v) throw new ParseError(t.pos, `expected '${v}', found ${describe(t)}`);
  }

  parseAll(): Node {
    const n = this.expr(1);
    const t = this.peek();
    if (t.t !== 'eof') throw new ParseError(t.pos, `unexpected ${describe(t)} after expression`);
    return n;
  }

  private expr(minPrec: number): Node {
    if (++this.depth > MAX_EXPRESSION_DEPTH)
      throw new ParseError(this.peek().pos, `expression nested deeper than ${MAX_EXPRESSION_DEPTH}`);
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      const prec = t.t === 'op' ? PRECEDENCE[t.v] : undefined;
      if (prec === undefined || prec < minPrec) break;
      this.next();
      if (t.t === 'op' && t.v === '-') throw new ParseError(t.pos, "unsupported operator '-'");
      const right = this.expr(prec + 1);
      left = { kind: 'binary', op: (t as { v: string }).v as BinaryOp, left, right, pos: t.pos };
    }
    this.depth--;
    return left;
  }

  private unary(): Node {
    const t = this.peek();
    if (t.t === 'op' && (t.v === '!' || t.v === '-')) {
      this.next();
      if (++this.depth > MAX_EXPRESSION_DEPTH)
        throw new ParseError(t.pos, `expression nested deeper than ${MAX_EXPRESSION_DEPTH}`);
      const operand = this.unary();
      this.depth--;
      return { kind: 'unary', op: t.v, operand, pos: t.pos };
    }
    return this.postfix(this.primary());
  }

  private primary(): Node {
    const t = this.next();
    switch (t.t) {
      case 'string':
        return { kind: 'string', value: t.v, pos: t.pos };
      case 'int':
        return { kind: 'int', value: t.v, pos: t.pos };
      case 'double':
        return { kind: 'double', value: t.v, pos: t.pos };
      case 'ident': {
        if (t.v === 'true' || t.v === 'false') return { kind: 'bool', value: t.v === 'true', pos: t.pos };
        if (this.isOp('(')) return { kind: 'call', name: t.v, args: this.args(), pos: t.pos };
        let name = t.v;
        // A dotted name is one attribute (`source.labels`) until a `.method(` follows.
        while (this.isOp('.') && this.toks[this.i + 1]?.t === 'ident' && !isCallAt(this.toks, this.i + 2)) {
          this.next();
          name += `.${(this.next() as { v: string }).v}`;
        }
        return { kind: 'attr', name, pos: t.pos };
      }
      case 'op':
        if (t.v === '(') {
          const n = this.expr(1);
          this.expectOp(')');
          return n;
        }
        throw new ParseError(t.pos, `unexpected ${describe(t)}`);
      case 'eof':
        throw new ParseError(t.pos, 'unexpected end of expression');
    }
  }

  private postfix(node: Node): Node {
    let n = node;
    for (;;) {
      if (this.isOp('[')) {
        const open = this.next();
        const key = this.expr(1);
        this.expectOp(']');
        n = { kind: 'index', target: n, key, pos: open.pos };
      } else if (this.isOp('.')) {
        this.next();
        const m = this.next();
        if (m.t !== 'ident')
          throw new ParseError(m.pos, `expected a method name after '.', found ${describe(m)}`);
        if (!this.isOp('(')) throw new ParseError(m.pos, `'${m.v}' is not a method call`);
        n = { kind: 'call', name: m.v, target: n, args: this.args(), pos: m.pos };
      } else return n;
    }
  }

  private args(): Node[] {
    this.expectOp('(');
    const out: Node[] = [];
    if (this.isOp(')')) {
      this.next();
      return out;
    }
    for (;;) {
      out.push(this.expr(1));
      if (this.isOp(',')) {
        this.next();
        continue;
      }
      this.expectOp(')');
      return out;
    }
  }
}

function isCallAt(toks: Tok[], i: number): boolean {
  const t = toks[i];
  return t?.t === 'op' && t.v === '(';
}

function describe(t: Tok): string {
  switch (t.t) {
    case 'eof':
      return 'end of expression';
    case 'string':
      return `string ${JSON.stringify(t.v)}`;
    case 'op':
      return `'${t.v}'`;
    default:
      return `'${t.v}'`;
  }
}

/** Parses one expression; errors carry their position. */
export function parseExpression(text: string): Result<Node, ExprError[]> {
  if (text.length > MAX_EXPRESSION_LENGTH)
    return {
      ok: false,
      errors: [
        new ExprError(positionOf(text, 0), `expression longer than ${MAX_EXPRESSION_LENGTH} characters`),
      ],
    };
  try {
    const toks = lex(text);
    return { ok: true, value: new Parser(toks).parseAll() };
  } catch (e) {
    if (e instanceof ParseError)
      return { ok: false, errors: [new ExprError(positionOf(text, e.offset), e.message)] };
    throw e;
  }
}
