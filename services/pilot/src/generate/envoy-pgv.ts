// Envoy's load-time field rules, read generically from the protoc-gen-validate `(validate.rules)`
// annotations of the v3 protos (protobufjs parsedOptions), applied to resources in protobufjs
// object form (.proto field names, enums by name, Durations as {seconds, nanos}). Pure.
import { lookupType, TypeName } from '@keel/proto';

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
/**
 * The path of the value being checked: pushed and popped by the walk (no allocation per value),
 * rendered only when something is reported. The walk is synchronous, so one stack serves all calls.
 */
const stack: Array<string | number> = [];
function render(): string {
  let out = '';
  for (const k of stack) out += typeof k === 'number' ? `[${k}]` : k;
  return out;
}

const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
// Envoy's non-strict HTTP_HEADER_VALUE: no NUL, CR or LF.
const HEADER_VALUE_BAD = /[\0\n\r]/;
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

const num = (v: unknown): number =>
  typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number((v as Obj)?.toString?.());
const durNanos = (d: Obj | undefined): number => num(d?.seconds ?? 0) * 1e9 + num(d?.nanos ?? 0);

function checkNumber(v: number, r: Obj, out: string[]): void {
  if (r.const !== undefined && v !== num(r.const)) out.push(`${render()}: value must equal ${r.const}`);
  if (r.lt !== undefined && !(v < num(r.lt))) out.push(`${render()}: value must be less than ${r.lt}`);
  if (r.lte !== undefined && !(v <= num(r.lte))) out.push(`${render()}: value must be at most ${r.lte}`);
  if (r.gt !== undefined && !(v > num(r.gt))) out.push(`${render()}: value must be greater than ${r.gt}`);
  if (r.gte !== undefined && !(v >= num(r.gte))) out.push(`${render()}: value must be at least ${r.gte}`);
  if (Array.isArray(r.in) && !r.in.map(num).includes(v))
    out.push(`${render()}: value must be in list ${r.in}`);
}

const NUMERIC = ['uint32', 'int32', 'uint64', 'int64', 'double', 'float', 'sint32', 'sint64', 'fixed32'];

/** Code points of `v`, counted only when UTF-16 length cannot decide (surrogates). */
const chars = (v: string): number => (/[\uD800-\uDFFF]/.test(v) ? [...v].length : v.length);

function checkString(v: string, r: Obj, out: string[]): void {
  if (r.ignore_empty && v === '') return;
  if (r.min_len !== undefined && chars(v) < num(r.min_len))
    out.push(`${render()}: value length must be at least ${r.min_len} characters`);
  if (r.max_len !== undefined && chars(v) > num(r.max_len))
    out.push(`${render()}: value length must be at most ${r.max_len} characters`);
  // UTF-8 takes 1 to 3 bytes per UTF-16 unit: count bytes only when the bounds cannot decide.
  if (r.min_bytes !== undefined && v.length < num(r.min_bytes) && Buffer.byteLength(v) < num(r.min_bytes))
    out.push(`${render()}: value length must be at least ${r.min_bytes} bytes`);
  if (r.max_bytes !== undefined && v.length * 3 > num(r.max_bytes) && Buffer.byteLength(v) > num(r.max_bytes))
    out.push(`${render()}: value length must be at most ${r.max_bytes} bytes`);
  if (r.prefix !== undefined && !v.startsWith(r.prefix))
    out.push(`${render()}: value does not have prefix ${r.prefix}`);
  if (Array.isArray(r.in) && !r.in.includes(v)) out.push(`${render()}: value must be in list ${r.in}`);
  if (Array.isArray(r.not_in) && r.not_in.includes(v))
    out.push(`${render()}: value must not be in list ${r.not_in}`);
  if (r.well_known_regex === 'HTTP_HEADER_NAME' && v !== '' && !HEADER_NAME.test(v))
    out.push(`${render()}: value does not match regex pattern HTTP_HEADER_NAME`);
  if (r.well_known_regex === 'HTTP_HEADER_VALUE' && HEADER_VALUE_BAD.test(v))
    out.push(`${render()}: value does not match regex pattern HTTP_HEADER_VALUE`);
}

/** Rules of one (non-repeated) value of field `f`. */
function checkValue(f: PField, v: unknown, r: Rules | undefined, out: string[], deprecated = false): void {
  const t = f.resolvedType;
  if (r) {
    if (r.message?.required && (v === undefined || v === null)) out.push(`${render()}: value is required`);
    if (v === undefined || v === null) return;
    if (r.string && typeof v === 'string') checkString(v, r.string, out);
    for (const k of NUMERIC)
      if (r[k]) {
        // Wrapper fields carry the numeric rule for their `value`.
        const n = isType(t) ? (v as Obj).value : v;
        if (n !== undefined) checkNumber(num(n), r[k], out);
      }
    if (r.enum?.defined_only && isEnum(t)) {
      const ok = typeof v === 'string' ? v in t.values : Object.values(t.values).includes(num(v));
      if (!ok) out.push(`${render()}: value must be one of the defined enum values`);
    }
    if (r.duration) {
      const d = r.duration;
      if (d.required && v === undefined) out.push(`${render()}: value is required`);
      const n = durNanos(v as Obj);
      if (d.gt !== undefined && !(n > durNanos(d.gt)))
        out.push(`${render()}: value must be greater than ${durNanos(d.gt) / 1e9}s`);
      if (d.gte !== undefined && !(n >= durNanos(d.gte)))
        out.push(`${render()}: value must be at least ${durNanos(d.gte) / 1e9}s`);
      if (d.lt !== undefined && !(n < durNanos(d.lt)))
        out.push(`${render()}: value must be less than ${durNanos(d.lt) / 1e9}s`);
      if (d.lte !== undefined && !(n <= durNanos(d.lte)))
        out.push(`${render()}: value must be at most ${durNanos(d.lte) / 1e9}s`);
    }
    if (r.any?.required && v === undefined) out.push(`${render()}: value is required`);
  }
  if (v !== null && typeof v === 'object' && isType(t) && !r?.message?.skip)
    walk(t, v as Obj, out, deprecated);
}

interface FieldPlan {
  f: PField;
  /** `.name`, the path step. */
  key: string;
  rules: Rules | undefined;
  deprecated: boolean;
}
interface Plan {
  fields: FieldPlan[];
  byName: Map<string, FieldPlan>;
  /** Fields whose absence alone breaks a rule (required message, min_items, min_pairs). */
  whenAbsent: FieldPlan[];
  /** Oneofs with `(validate.required)`. */
  oneofs: string[][];
  /** Nothing below this type can fail (wrappers, Struct, rule-free subtrees). */
  empty: boolean;
}
const ANY = 'google.protobuf.Any';
let anyTypeCache: PType | undefined;
/** protobufjs computes `fullName` on every read: Any is recognised by identity. */
const anyType = (): PType => {
  anyTypeCache ??= lookupType(ANY) as unknown as PType;
  return anyTypeCache;
};
/** Per type, the fields worth visiting (rules, rule-carrying subtrees, Any; deprecated ones when asked). */
const plans = [new Map<PType, Plan>(), new Map<PType, Plan>()] as const;

function planOf(t: PType, deprecated: boolean): Plan {
  const cache = plans[deprecated ? 1 : 0];
  const known = cache.get(t);
  if (known) return known;
  // Registered before its fields are planned: a recursive reference sees a non-empty plan.
  const plan: Plan = { fields: [], byName: new Map(), whenAbsent: [], oneofs: [], empty: false };
  cache.set(t, plan);
  const name = t.fullName.slice(1);
  if (WRAPPERS.has(name) || OPAQUE.has(name)) {
    plan.empty = true;
    return plan;
  }
  plan.oneofs = t.oneofsArray.filter((o) => o.options?.['(validate.required)'] === true).map((o) => o.oneof);
  for (const f of t.fieldsArray) {
    const rules = rulesOf(f);
    const dep = deprecated && f.options?.deprecated === true;
    const sub = isType(f.resolvedType) ? f.resolvedType : undefined;
    const deep = sub !== undefined && (sub.fullName.slice(1) === ANY || !planOf(sub, deprecated).empty);
    if (rules || dep || deep) plan.fields.push({ f, key: `.${f.name}`, rules, deprecated: dep });
  }
  for (const fp of plan.fields) {
    plan.byName.set(fp.f.name, fp);
    const r = fp.rules;
    if (r?.message?.required || num(r?.repeated?.min_items ?? 0) > 0 || num(r?.map?.min_pairs ?? 0) > 0)
      plan.whenAbsent.push(fp);
  }
  plan.empty = plan.fields.length === 0 && plan.oneofs.length === 0;
  return plan;
}

function walk(t: PType, value: Obj, out: string[], deprecated = false, skip?: string): void {
  if (t === anyType()) {
    const url = value['@type'];
    if (typeof url !== 'string') return;
    let inner: PType | undefined;
    try {
      inner = lookupType(url.slice(url.lastIndexOf('/') + 1)) as unknown as PType;
    } catch {
      return;
    }
    walk(inner, value, out, deprecated);
    return;
  }
  const plan = planOf(t, deprecated);
  if (plan.empty) return;
  // Generated objects are immutable once built and often shared (between routes, clusters, builds):
  // one that passed as this type passes again.
  if (!deprecated && skip === undefined && clean.get(value) === t) return;
  const before = out.length;
  for (const names of plan.oneofs) {
    if (!names.some((n) => value[n] !== undefined && value[n] !== null))
      out.push(`${render()}: exactly one of ${names.join(', ')} is required`);
  }
  // Present fields only (objects carry a few of the many planned fields), then rules absence breaks.
  for (const name in value) {
    const fp = plan.byName.get(name);
    const v = value[name];
    if (fp && name !== skip && v !== undefined && v !== null) visitField(fp, v, out, deprecated);
  }
  for (const fp of plan.whenAbsent) {
    const v = value[fp.f.name];
    if (fp.f.name !== skip && (v === undefined || v === null)) visitField(fp, undefined, out, deprecated);
  }
  if (!deprecated && skip === undefined && out.length === before) clean.set(value, t);
}

function visitField(fp: FieldPlan, v: unknown, out: string[], deprecated: boolean): void {
  stack.push(fp.key);
  visitValue(fp, v, out, deprecated);
  stack.pop();
}

function visitValue(fp: FieldPlan, v: unknown, out: string[], deprecated: boolean): void {
  const { f, rules: r, deprecated: dep } = fp;
  if (f.map) {
    const m = (v ?? {}) as Obj;
    const mr = r?.map;
    if (mr?.min_pairs !== undefined && Object.keys(m).length < num(mr.min_pairs))
      out.push(`${render()}: value must contain at least ${mr.min_pairs} pair(s)`);
    if (isType(f.resolvedType) || mr?.values) {
      for (const k in m) {
        stack.push(`[${k}]`);
        checkValue(f, m[k], mr?.values, out, deprecated);
        stack.pop();
      }
    }
    return;
  }
  if (f.repeated) {
    const list = Array.isArray(v) ? v : [];
    const rr = r?.repeated;
    if (rr?.min_items !== undefined && list.length < num(rr.min_items))
      out.push(`${render()}: value must contain at least ${rr.min_items} item(s)`);
    if (rr?.max_items !== undefined && list.length > num(rr.max_items))
      out.push(`${render()}: value must contain no more than ${rr.max_items} item(s)`);
    if (rr?.unique && new Set(list.map((x) => JSON.stringify(x))).size !== list.length)
      out.push(`${render()}: repeated value must contain unique items`);
    if (dep && list.length > 0) out.push(`${render()}: deprecated field`);
    if (list.length > 0 && (rr?.items || isType(f.resolvedType))) {
      for (let i = 0; i < list.length; i++) {
        stack.push(i);
        checkValue(f, list[i], rr?.items, out, deprecated);
        stack.pop();
      }
    }
    return;
  }
  if (f.partOf && v === undefined) return;
  if (dep && v !== undefined) out.push(`${render()}: deprecated field`);
  checkValue(f, v, r, out, deprecated);
}

/** Objects that passed, by the type they passed as (see walk). */
const clean = new WeakMap<object, PType>();

/**
 * Contents (type and JSON) that passed: the rules are a pure function of a value's content, and every
 * build carries fresh objects with the contents of the last one, so each content is walked once. The
 * JSON is far cheaper than the walk (native, no reflection). Two generations bound the memory: a content
 * unseen for `PASSED_MAX` insertions is forgotten and walked again. Only passes are remembered, so every
 * violation is still found and reported with its path.
 */
class PassedContents {
  private current = new Set<string>();
  private previous = new Set<string>();
  /** Walks skipped because the content passed before (for tests). */
  hits = 0;
  has(key: string): boolean {
    if (this.current.has(key)) return true;
    if (!this.previous.has(key)) return false;
    this.add(key);
    return true;
  }
  add(key: string): void {
    if (this.current.size >= PASSED_MAX) {
      this.previous = this.current;
      this.current = new Set();
    }
    this.current.add(key);
  }
}
const PASSED_MAX = 50_000;
/** Values whose JSON is longer are walked every time (their key would cost more memory than it saves). */
const PASSED_KEY_MAX = 64 * 1024;
const passed = new PassedContents();

/** Walks seen skipped by content so far (a test checks the cache is used). */
export function pgvContentHits(): number {
  return passed.hits;
}

/** The key of `value`'s content as `kind` when it is short enough to remember. */
export function contentKey(kind: string, value: unknown): string | undefined {
  const json = JSON.stringify(value);
  return json.length <= PASSED_KEY_MAX ? `${kind}\0${json}` : undefined;
}

/** True when a content with this key passed before (see `rememberPassed`). */
export function passedBefore(key: string): boolean {
  if (!passed.has(key)) return false;
  passed.hits += 1;
  return true;
}

/** Records that a content passed every check (callers remember only what passed untouched). */
export function rememberPassed(key: string): void {
  passed.add(key);
}

function checkOnce(t: PType, value: Obj, typeName: string, keyed: Obj, out: string[], skip?: string): void {
  if (clean.get(value) === t) return;
  const json = JSON.stringify(keyed);
  const key = json.length <= PASSED_KEY_MAX ? `${typeName}${skip ?? ''}\0${json}` : undefined;
  if (key !== undefined && passed.has(key)) {
    passed.hits += 1;
    return;
  }
  const before = out.length;
  walk(t, value, out, false, skip);
  if (key !== undefined && out.length === before) passed.add(key);
}

/**
 * Every PGV violation of `value` as message `typeName`; messages start with `where`. With
 * `deprecated`, fields marked `deprecated = true` in the protos are reported too.
 */
export function pgvViolations(typeName: string, value: Obj, where: string, deprecated = false): string[] {
  const out: string[] = [];
  stack.length = 0;
  stack.push(where);
  const t = lookupType(typeName) as unknown as PType;
  if (deprecated) walk(t, value, out, deprecated);
  else checkOnce(t, value, typeName, value, out);
  stack.length = 0;
  return out;
}

/** pgvViolations of a VirtualHost's own fields, its routes left out (they are checked one by one). */
export function virtualHostViolations(vhost: Obj, where: string): string[] {
  const out: string[] = [];
  const t = lookupType(TypeName.VirtualHost) as unknown as PType;
  stack.length = 0;
  stack.push(where);
  checkOnce(t, vhost, TypeName.VirtualHost, { ...vhost, routes: undefined }, out, 'routes');
  stack.length = 0;
  return out;
}
