// Reading Mixer config params. Galley serves them normalized (libs/config validate/mixer-normalize.ts:
// camelCase names, enum names, durations as google.protobuf.Duration JSON), so one spelling is read.

export type Obj = Record<string, unknown>;

/** `params[name]` (camelCase), or undefined. */
export function pick(params: Obj | undefined, name: string): unknown {
  if (!params || !Object.hasOwn(params, name)) return undefined;
  return params[name];
}

/** The camelCase spelling of a snake_case field name (for internal snake-named tables). */
export function camelName(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function pickString(params: Obj | undefined, name: string): string | undefined {
  const v = pick(params, name);
  return typeof v === 'string' ? v : undefined;
}

export function pickObj(params: Obj | undefined, name: string): Obj | undefined {
  const v = pick(params, name);
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** An expression param: strings as written, numbers and booleans as their literal text. */
export function exprText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}
