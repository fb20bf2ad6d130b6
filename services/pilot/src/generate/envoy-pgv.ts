// Envoy's load-time field rules, read generically from the protoc-gen-validate `(validate.rules)`
// annotations of the v3 protos (protobufjs parsedOptions), applied to resources in protobufjs
// object form (.proto field names, enums by name, Durations as {seconds, nanos}). Pure.
import { lookupType } from '@keel/proto';

type Obj = Record<string, any>;
/** The parts of protobufjs reflection used here (structural: Pilot does not import protobufjs). */
interface PField {
  name: string;
  type: string;
  map: boolean;
  repeated: boolean;
  parsedOptions?: Obj[];
  options?: Obj;
  /** The oneof this field belongs to: its rules apply only when it is the member set. */
  partOf?: unknown;
  resolvedType: PType | PEnum | null;
}
interface PType {
  fullName: string;
  fieldsArray: PField[];
  oneofsArray: Array<{ options?: Obj; oneof: string[] }>;
}
interface PEnum {
  values: Record<string, number>;
}
const isType = (t: unknown): t is PType => !!t && typeof t === 'object' && 'fieldsArray' in t;
const isEnum = (t: unknown): t is PEnum => !!t && typeof t === 'object' && 'values' in t && !isType(t);
type Rules = Obj;

const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
// Envoy's non-strict HTTP_HEADER_VALUE: no NUL, CR or LF.
const HEADER_VALUE_BAD = ['\0', '\n', '\r'];
const WRAPPERS = new Set([
  'google.protobuf.UInt32Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value',
  'google.protobuf.Int64Value',
  'google.protobuf.DoubleValue',
  'google.protobuf.FloatValue',
  'google.protobuf.BoolValue',
  'google.protobuf.StringValue',
]);
const OPAQUE = new Set(['google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue']);

function rulesOf(f: PField): Rules | undefined {
  for (const o of f.parsedOptions ?? []) if (o['(validate.rules)']) return o['(validate.rules)'];
  return undefined;
}

const prunable = new Map<PType, boolean>();
/** True when no field below `t` carries a rule (its subtree is skipped). */
function ruleFree(t: PType): boolean {
  const known = prunable.get(t);
  if (known !== undefined) return known;
  prunable.set(t, true); // recursion guard
  let free = t.oneofsArray.every((o) => o.options?.['(validate.required)'] !== true);
  for (const f of t.fieldsArray) {
    if (!free) break;
    if (rulesOf(f)) free = false;
    else if (isType(f.resolvedType) && !ruleFree(f.resolvedType)) free = false;
  }
  // Any fields may hold rule-carrying types: never prune a type that has one.
  if (t.fieldsArray.some((f) => f.type === 'google.protobuf.Any' || f.type === '.google.protobuf.Any'))
    free = false;
  prunable.set(t, free);
  return free;
}

const num = (v: unknown): number =>
  typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number((v as Obj)?.toString?.());
const durNanos = (d: Obj | undefined): number => num(d?.seconds ?? 0) * 1e9 + num(d?.nanos ?? 0);

function checkNumber(v: number, r: Obj, where: string, out: string[]): void {
  if (r.const !== undefined && v !== num(r.const)) out.push(`${where}: value must equal ${r.const}`);
  if (r.lt !== undefined && !(v < num(r.lt))) out.push(`${where}: value must be less than ${r.lt}`);
  if (r.lte !== undefined && !(v <= num(r.lte))) out.push(`${where}: value must be at most ${r.lte}`);
  if (r.gt !== undefined && !(v > num(r.gt))) out.push(`${where}: value must be greater than ${r.gt}`);
  if (r.gte !== undefined && !(v >= num(r.gte))) out.push(`${where}: value must be at least ${r.gte}`);
  if (Array.isArray(r.in) && !r.in.map(num).includes(v)) out.push(`${where}: value must be in list ${r.in}`);
}

function checkString(v: string, r: Obj, where: string, out: string[]): void {
  if (r.ignore_empty && v === '') return;
  const bytes = Buffer.byteLength(v);
  if (r.min_len !== undefined && [...v].length < num(r.min_len))
    out.push(`${where}: value length must be at least ${r.min_len} characters`);
  if (r.max_len !== undefined && [...v].length > num(r.max_len))
    out.push(`${where}: value length must be at most ${r.max_len} characters`);
  if (r.min_bytes !== undefined && bytes < num(r.min_bytes))
    out.push(`${where}: value length must be at least ${r.min_bytes} bytes`);
  if (r.max_bytes !== undefined && bytes > num(r.max_bytes))
    out.push(`${where}: value length must be at most ${r.max_bytes} bytes`);
  if (r.prefix !== undefined && !v.startsWith(r.prefix))
    out.push(`${where}: value does not have prefix ${r.prefix}`);
  if (Array.isArray(r.in) && !r.in.includes(v)) out.push(`${where}: value must be in list ${r.in}`);
  if (Array.isArray(r.not_in) && r.not_in.includes(v))
    out.push(`${where}: value must not be in list ${r.not_in}`);
  if (r.well_known_regex === 'HTTP_HEADER_NAME' && v !== '' && !HEADER_NAME.test(v))
    out.push(`${where}: value does not match regex pattern HTTP_HEADER_NAME`);
  if (r.well_known_regex === 'HTTP_HEADER_VALUE' && HEADER_VALUE_BAD.some((c) => v.includes(c)))
    out.push(`${where}: value does not match regex pattern HTTP_HEADER_VALUE`);
}

/** Rules of one (non-repeated) value of field `f`. */
function checkValue(
  f: PField,
  v: unknown,
  r: Rules | undefined,
  where: string,
  out: string[],
  deprecated = false,
): void {
  const t = f.resolvedType;
  if (r) {
    if (r.message?.required && (v === undefined || v === null)) out.push(`${where}: value is required`);
    if (v === undefined || v === null) return;
    if (r.string && typeof v === 'string') checkString(v, r.string, where, out);
    for (const k of ['uint32', 'int32', 'uint64', 'int64', 'double', 'float', 'sint32', 'sint64', 'fixed32'])
      if (r[k]) {
        // Wrapper fields carry the numeric rule for their `value`.
        const n = isType(t) ? (v as Obj).value : v;
        if (n !== undefined) checkNumber(num(n), r[k], where, out);
      }
    if (r.enum?.defined_only && isEnum(t)) {
      const ok = typeof v === 'string' ? v in t.values : Object.values(t.values).includes(num(v));
      if (!ok) out.push(`${where}: value must be one of the defined enum values`);
    }
    if (r.duration) {
      const d = r.duration;
      if (d.required && v === undefined) out.push(`${where}: value is required`);
      const n = durNanos(v as Obj);
      if (d.gt !== undefined && !(n > durNanos(d.gt)))
        out.push(`${where}: value must be greater than ${durNanos(d.gt) / 1e9}s`);
      if (d.gte !== undefined && !(n >= durNanos(d.gte)))
        out.push(`${where}: value must be at least ${durNanos(d.gte) / 1e9}s`);
      if (d.lt !== undefined && !(n < durNanos(d.lt)))
        out.push(`${where}: value must be less than ${durNanos(d.lt) / 1e9}s`);
      if (d.lte !== undefined && !(n <= durNanos(d.lte)))
        out.push(`${where}: value must be at most ${durNanos(d.lte) / 1e9}s`);
    }
    if (r.any?.required && v === undefined) out.push(`${where}: value is required`);
  }
  if (v !== null && typeof v === 'object' && isType(t) && !r?.message?.skip) walk(t, v as Obj, where, out, deprecated);
}

function walk(t: PType, value: Obj, where: string, out: string[], deprecated = false): void {
  const name = t.fullName.slice(1);
  if (WRAPPERS.has(name) || OPAQUE.has(name)) return;
  if (name === 'google.protobuf.Any') {
    const url = value['@type'];
    if (typeof url !== 'string') return;
    let inner: PType | undefined;
    try {
      inner = lookupType(url.slice(url.lastIndexOf('/') + 1)) as unknown as PType;
    } catch {
      return;
    }
    walk(inner, value, where, out, deprecated);
    return;
  }
  if (!deprecated && ruleFree(t)) return;
  for (const o of t.oneofsArray) {
    if (
      o.options?.['(validate.required)'] === true &&
      !o.oneof.some((n) => value[n] !== undefined && value[n] !== null)
    )
      out.push(`${where}: exactly one of ${o.oneof.join(', ')} is required`);
  }
  for (const f of t.fieldsArray) {
    const v = value[f.name];
    const r = rulesOf(f);
    const at = `${where}.${f.name}`;
    if (f.map) {
      const m = (v ?? {}) as Obj;
      const mr = r?.map;
      const n = Object.keys(m).length;
      if (mr?.min_pairs !== undefined && n < num(mr.min_pairs))
        out.push(`${at}: value must contain at least ${mr.min_pairs} pair(s)`);
      if (isType(f.resolvedType))
        for (const [k, x] of Object.entries(m)) checkValue(f, x, mr?.values, `${at}[${k}]`, out, deprecated);
      continue;
    }
    if (f.repeated) {
      const list = Array.isArray(v) ? v : [];
      const rr = r?.repeated;
      if (rr?.min_items !== undefined && list.length < num(rr.min_items))
        out.push(`${at}: value must contain at least ${rr.min_items} item(s)`);
      if (rr?.max_items !== undefined && list.length > num(rr.max_items))
        out.push(`${at}: value must contain no more than ${rr.max_items} item(s)`);
      if (rr?.unique && new Set(list.map((x) => JSON.stringify(x))).size !== list.length)
        out.push(`${at}: repeated value must contain unique items`);
      for (const [i, x] of list.entries()) checkValue(f, x, rr?.items, `${at}[${i}]`, out, deprecated);
      continue;
    }
    if (f.partOf && (v === undefined || v === null)) continue;
    if (deprecated && f.options?.deprecated === true && isSet(v)) out.push(`${at}: deprecated field`);
    checkValue(f, v, r, at, out, deprecated);
  }
}

const isSet = (v: unknown): boolean => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);

/**
 * Every PGV violation of `value` as message `typeName`; messages start with `where`. With
 * `deprecated`, fields marked `deprecated = true` in the protos are reported too.
 */
export function pgvViolations(typeName: string, value: Obj, where: string, deprecated = false): string[] {
  const out: string[] = [];
  walk(lookupType(typeName) as unknown as PType, value, where, out, deprecated);
  return out;
}
