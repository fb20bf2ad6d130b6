import { formatProtoDuration, parseGoDuration } from '@keel/runtime/duration';
import { at, type Errors, type Obj, obj } from './common.js';
import { ENUMS, type FieldType, MESSAGES } from './networking-schema.js';

const camel = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Checks `value` against message `type` the way jsonpb unmarshalling does (unknown fields, JSON types,
 * enum names, oneofs) and returns a copy with camelCase keys, nulls dropped and enum numbers named.
 */
export function normalizeMessage(value: unknown, type: string, path: string, errs: Errors): Obj {
  const schema = MESSAGES[type];
  const input = obj(value);
  if (!schema) throw new Error(`no schema for ${type}`);
  if (!input) {
    if (value !== undefined && value !== null)
      errs.add(path || undefined, `cannot unmarshal ${kindOf(value)} into v1alpha3.${type}`);
    return {};
  }
  const out: Obj = {};
  for (const [rawKey, v] of Object.entries(input)) {
    const key = camel(rawKey);
    const ft = schema.fields[key];
    if (ft === undefined) {
      errs.add(at(path, rawKey), `unknown field "${rawKey}" in v1alpha3.${type}`);
      continue;
    }
    if (v === null || v === undefined) continue;
    const nv = normalizeValue(v, ft, at(path, key), errs);
    if (nv !== undefined) out[key] = nv;
  }
  for (const group of schema.oneofs ?? []) {
    const set = group.filter((f) => f in out);
    if (set.length > 1)
      errs.add(path || undefined, `only one of ${set.join(', ')} may be set in v1alpha3.${type}`);
  }
  return out;
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  return v === null ? 'null' : typeof v;
}

function normalizeValue(v: unknown, ft: FieldType, path: string, errs: Errors): unknown {
  if (ft.startsWith('[]')) {
    if (!Array.isArray(v)) {
      errs.add(path, `cannot unmarshal ${kindOf(v)} into repeated field ${path}`);
      return undefined;
    }
    return v.map((item, i) => normalizeValue(item, ft.slice(2), at(path, i), errs));
  }
  if (ft.startsWith('map:')) {
    const m = obj(v);
    if (!m) {
      errs.add(path, `cannot unmarshal ${kindOf(v)} into map field ${path}`);
      return undefined;
    }
    const vt = ft.slice(4);
    const out: Obj = {};
    // A null map value is kept as null: Istio reports "header match X cannot be null" for it.
    for (const [k, item] of Object.entries(m))
      out[k] = item === null ? null : normalizeValue(item, vt, at(path, k), errs);
    return out;
  }
  if (ft.startsWith('M:')) return normalizeMessage(v, ft.slice(2), path, errs);
  if (ft.startsWith('E:')) return normalizeEnum(v, ft.slice(2), path, errs);
  return normalizeScalar(v, ft, path, errs);
}

function normalizeEnum(v: unknown, name: string, path: string, errs: Errors): string | undefined {
  const values = ENUMS[name] as string[];
  if (typeof v === 'string' && values.includes(v)) return v;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < values.length) return values[v];
  errs.add(path, `unknown value ${JSON.stringify(v)} for enum ${name}, expected one of ${values.join(', ')}`);
  return undefined;
}

function normalizeScalar(v: unknown, ft: FieldType, path: string, errs: Errors): unknown {
  const bad = (): undefined => {
    errs.add(path, `invalid value ${JSON.stringify(v)} for field ${path}`);
    return undefined;
  };
  switch (ft) {
    case 's':
      return typeof v === 'string' ? v : bad();
    case 'dur': {
      // Parsable durations take google.protobuf.Duration's JSON form; the rest stay for the checks to report.
      if (typeof v !== 'string') return bad();
      const d = parseGoDuration(v);
      return d.ok ? formatProtoDuration(d.value) : v;
    }
    case 'b':
      return typeof v === 'boolean' ? v : bad();
    case 'd': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      return typeof n === 'number' && Number.isFinite(n) ? n : bad();
    }
    case 'i':
    case 'u': {
      const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) return bad();
      const ok = ft === 'i' ? n >= -(2 ** 31) && n < 2 ** 31 : n >= 0 && n < 2 ** 32;
      return ok ? n : bad();
    }
    default:
      return v; // 'struct': any JSON object
  }
}
