import { formatProtoDuration, parseConfigDuration, parseGoDuration } from '@keel/runtime/duration';
import type { FieldError } from './common.js';

/** A field's expected JSON type. `null` is accepted everywhere (proto3 JSON: unset). */
export type FieldType =
  | 'string'
  | 'bool'
  | 'number'
  | 'int'
  | 'uint'
  | 'duration'
  | 'struct'
  | 'any'
  | 'stringList'
  | 'stringMap'
  | { enum: readonly string[] }
  | { list: FieldType }
  | { obj: Shape }
  | { map: FieldType };

/** Allowed fields of a message, by proto3 JSON (camelCase) name; snake_case spellings are accepted too. */
export type Shape = Readonly<Record<string, FieldType>>;

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `value` as an object, or {} when it is absent or not an object. */
export function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}

/** `value` as an array, or [] when absent or not an array. */
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** `value` as a string, or '' when absent or not a string. */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The shape entry for `key`, whether written camelCase or snake_case. */
function lookup(shape: Shape, key: string): FieldType | undefined {
  if (Object.hasOwn(shape, key)) return shape[key];
  for (const k of Object.keys(shape)) if (snake(k) === key) return shape[k];
  return undefined;
}

/** Reads field `name` of `o` under its camelCase or snake_case spelling. */
export function field(o: Obj, name: string): unknown {
  return o[name] ?? o[snake(name)];
}

/** Checks `value` against `shape`: unknown fields and wrong types are reported into `errs`. */
export function checkShape(value: unknown, shape: Shape, path: string, errs: FieldError[]): void {
  checkType(value, { obj: shape }, path, errs);
}

function typeError(path: string, want: string, v: unknown): FieldError {
  const got = Array.isArray(v) ? 'list' : typeof v;
  return { field: path || undefined, message: `expected ${want}, got ${got} ${JSON.stringify(v)}` };
}

function isIntLike(v: unknown): boolean {
  if (typeof v === 'number') return Number.isInteger(v);
  return typeof v === 'string' && /^-?\d+$/.test(v);
}

function checkScalar(v: unknown, t: string, path: string, errs: FieldError[]): void {
  if (t === 'duration' && typeof v === 'string') {
    const d = parseConfigDuration(v);
    if (!d.ok) errs.push({ field: path || undefined, message: d.errors });
    return;
  }
  const ok =
    t === 'any' ||
    (t === 'string' && typeof v === 'string') ||
    (t === 'bool' && typeof v === 'boolean') ||
    (t === 'number' &&
      (typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))))) ||
    (t === 'int' && isIntLike(v)) ||
    (t === 'uint' && isIntLike(v) && Number(v) >= 0) ||
    (t === 'duration' && typeof v === 'string' && parseGoDuration(v).ok) ||
    (t === 'struct' && isObj(v));
  if (!ok) errs.push(typeError(path, t === 'struct' ? 'object' : t, v));
}

function checkType(v: unknown, t: FieldType, path: string, errs: FieldError[]): void {
  if (v === null || v === undefined) return;
  if (typeof t === 'string') {
    if (t === 'stringList') checkType(v, { list: 'string' }, path, errs);
    else if (t === 'stringMap') checkType(v, { map: 'string' }, path, errs);
    else checkScalar(v, t, path, errs);
    return;
  }
  if ('enum' in t) {
    const okNum = typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < t.enum.length;
    if (!(typeof v === 'string' && t.enum.includes(v)) && !okNum) {
      errs.push({
        field: path || undefined,
        message: `invalid value ${JSON.stringify(v)}, expected one of ${t.enum.join(', ')}`,
      });
    }
    return;
  }
  if ('list' in t) {
    if (!Array.isArray(v)) errs.push(typeError(path, 'list', v));
    else for (const [i, item] of v.entries()) checkType(item, t.list, join(path, i), errs);
    return;
  }
  if (!isObj(v)) return void errs.push(typeError(path, 'object', v));
  if ('map' in t) {
    for (const [k, item] of Object.entries(v)) checkType(item, t.map, join(path, k), errs);
    return;
  }
  for (const [k, item] of Object.entries(v)) {
    const ft = lookup(t.obj, k);
    if (ft === undefined) errs.push({ field: join(path, k), message: `unknown field "${k}"` });
    else checkType(item, ft, join(path, k), errs);
  }
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Kubernetes DNS-1123 label: lowercase alphanumerics and '-', at most 63 characters. */
export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

/** Kubernetes DNS-1123 subdomain: dot-separated labels, at most 253 characters. */
export function isDns1123Subdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every((l) => DNS1123_LABEL.test(l));
}

/** Pushes `message` for `path` when `cond` is false. */
export function must(cond: boolean, path: string, message: string, errs: FieldError[]): void {
  if (!cond) errs.push(path === '' ? { message } : { field: path, message });
}

/** Workload selector shape shared by several kinds. */
export const WORKLOAD_SELECTOR: FieldType = { obj: { matchLabels: 'stringMap' } };

/** Istio's `StringMatch{exact|prefix|suffix|regex}`. */
export const STRING_MATCH: FieldType = {
  obj: { exact: 'string', prefix: 'string', suffix: 'string', regex: 'string' },
};

/**
 * The normalized copy of a value already checked against `t`: every field under its camelCase
 * name, nulls dropped, enum numbers named, integer strings as numbers, durations in
 * google.protobuf.Duration JSON form ("90s", "1.500s"). Free-form values (struct, map keys) are kept.
 */
export function normalizeShape(value: Obj, shape: Shape): Obj {
  return normalizeType(value, { obj: shape }) as Obj;
}

function normalizeType(v: unknown, t: FieldType): unknown {
  if (typeof t === 'string') {
    if (t === 'stringList' || t === 'stringMap' || t === 'struct' || t === 'any' || t === 'string') return v;
    if ((t === 'int' || t === 'uint') && typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
    if (t === 'duration' && typeof v === 'string') {
      const d = parseGoDuration(v);
      return d.ok ? formatProtoDuration(d.value) : v;
    }
    return v;
  }
  if ('enum' in t) return typeof v === 'number' ? (t.enum[v] ?? v) : v;
  if ('list' in t) return Array.isArray(v) ? v.map((item) => normalizeType(item, t.list)) : v;
  if (!isObj(v)) return v;
  const out: Obj = {};
  if ('map' in t) {
    for (const [k, item] of Object.entries(v)) if (item !== null) out[k] = normalizeType(item, t.map);
    return out;
  }
  for (const [k, item] of Object.entries(v)) {
    if (item === null || item === undefined) continue;
    const name = canonicalKey(t.obj, k);
    out[name] = normalizeType(item, t.obj[name] ?? 'any');
  }
  return out;
}

/** The camelCase name a shape declares for `key` (written either way); `key` itself when unknown. */
function canonicalKey(shape: Shape, key: string): string {
  if (Object.hasOwn(shape, key)) return key;
  for (const k of Object.keys(shape)) if (snake(k) === key) return k;
  return key;
}
