// The seam between the rule layer and Istio's expression language: rules, instances and
// templates compile expressions through an ExpressionCompiler and never parse text themselves.
import type { AttrValue, Bag } from '../bag.js';

export type ValueTypeName =
  | 'STRING'
  | 'INT64'
  | 'DOUBLE'
  | 'BOOL'
  | 'TIMESTAMP'
  | 'IP_ADDRESS'
  | 'EMAIL_ADDRESS'
  | 'URI'
  | 'DNS_NAME'
  | 'DURATION'
  | 'STRING_MAP'
  | 'VALUE_TYPE_UNSPECIFIED';

/** A compiled expression. `evaluate` returns undefined when the value is absent; it never throws. */
export interface Expression {
  readonly text: string;
  readonly type: ValueTypeName;
  evaluate(bag: Bag): AttrValue | undefined;
}

export type CompileResult = { ok: true; value: Expression } | { ok: false; errors: string };

/** Compiles expression text against the attribute manifests in force; errors name the position. */
export interface ExpressionCompiler {
  compile(text: string): CompileResult;
}
