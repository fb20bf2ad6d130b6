// Reading Mixer config params that users write in either snake_case or camelCase.

export type Obj = Record<string, unknown>;

function camel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** `params[snake]` or `params[camelCase(snake)]`. */
export function pick(params: Obj | undefined, snake: string): unknown {
  if (!params) return undefined;
  if (params[snake] !== undefined) return params[snake];
  return params[camel(snake)];
}

export function pickString(params: Obj | undefined, snake: string): string | undefined {
  const v = pick(params, snake);
  return typeof v === 'string' ? v : undefined;
}

export function pickObj(params: Obj | undefined, snake: string): Obj | undefined {
  const v = pick(params, snake);
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** An expression param: strings as written, numbers and booleans as their literal text. */
export function exprText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}
