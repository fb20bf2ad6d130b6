import protobuf from 'protobufjs';
import { lookupType } from './roots.js';
import { TYPE_PREFIX, typeNameOf } from './type-urls.js';

const WRAPPERS = new Set([
  'google.protobuf.DoubleValue',
  'google.protobuf.FloatValue',
  'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value',
  'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue',
  'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
]);
const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function fullName(t: protobuf.ReflectionObject): string {
  return t.fullName.replace(/^\./, '');
}

function jsonName(field: protobuf.Field): string {
  const explicit = field.options?.json_name as string | undefined;
  if (explicit) return explicit;
  return field.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function formatDuration(seconds: number, nanos: number): string {
  const neg = seconds < 0 || nanos < 0;
  const s = Math.abs(seconds);
  const n = Math.abs(nanos);
  let frac = '';
  if (n !== 0) {
    frac = String(n).padStart(9, '0');
    if (frac.endsWith('000000')) frac = frac.slice(0, 3);
    else if (frac.endsWith('000')) frac = frac.slice(0, 6);
    frac = '.' + frac;
  }
  return `${neg ? '-' : ''}${s}${frac}s`;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (v && typeof v === 'object' && 'toNumber' in v) return (v as { toNumber(): number }).toNumber();
  return Number(v ?? 0);
}

function isDefaultScalar(field: protobuf.Field, v: unknown): boolean {
  if (field.resolvedType instanceof protobuf.Enum) return v === 0;
  if (field.type === 'bytes') return (v as Uint8Array).length === 0;
  if (field.type === 'string') return v === '';
  if (field.type === 'bool') return v === false;
  return toNumber(v) === 0;
}

function scalarJson(field: protobuf.Field, v: unknown): unknown {
  if (field.resolvedType instanceof protobuf.Enum) {
    const name = field.resolvedType.valuesById[v as number];
    return name ?? v;
  }
  if (field.type === 'bytes') return Buffer.from(v as Uint8Array).toString('base64');
  if (LONG_TYPES.has(field.type))
    return String(typeof v === 'object' && v !== null ? (v as object).toString() : v);
  if ((field.type === 'double' || field.type === 'float') && !Number.isFinite(v as number)) {
    return Number.isNaN(v) ? 'NaN' : (v as number) > 0 ? 'Infinity' : '-Infinity';
  }
  return v;
}

/** A decoded protobufjs message -> canonical proto3 JSON (lowerCamelCase names, WKT forms, defaults omitted). */
export function messageToJson(type: protobuf.Type, msg: protobuf.Message | Record<string, unknown>): unknown {
  const name = fullName(type);
  const m = msg as Record<string, unknown>;
  switch (name) {
    case 'google.protobuf.Any': {
      const url = m.type_url as string;
      const inner = lookupType(typeNameOf(url));
      const decoded = inner.decode(m.value as Uint8Array);
      const body = messageToJson(inner, decoded);
      const innerName = fullName(inner);
      if (
        innerName.startsWith('google.protobuf.') &&
        (typeof body !== 'object' ||
          body === null ||
          Array.isArray(body) ||
          innerName === 'google.protobuf.Struct' ||
          WRAPPERS.has(innerName) ||
          innerName === 'google.protobuf.Duration' ||
          innerName === 'google.protobuf.Timestamp' ||
          innerName === 'google.protobuf.Value')
      ) {
        return { '@type': url, value: body };
      }
      return { '@type': url, ...(body as Record<string, unknown>) };
    }
    case 'google.protobuf.Duration':
      return formatDuration(toNumber(m.seconds), toNumber(m.nanos));
    case 'google.protobuf.Timestamp': {
      const ms = toNumber(m.seconds) * 1000 + Math.floor(toNumber(m.nanos) / 1e6);
      return new Date(ms).toISOString().replace('.000Z', 'Z');
    }
    case 'google.protobuf.Struct': {
      const out: Record<string, unknown> = {};
      const valueType = lookupType('google.protobuf.Value');
      for (const [k, v] of Object.entries((m.fields as Record<string, protobuf.Message>) ?? {}))
        out[k] = messageToJson(valueType, v);
      return out;
    }
    case 'google.protobuf.Value': {
      if (m.structValue != null)
        return messageToJson(lookupType('google.protobuf.Struct'), m.structValue as protobuf.Message);
      if (m.listValue != null)
        return messageToJson(lookupType('google.protobuf.ListValue'), m.listValue as protobuf.Message);
      if (m.stringValue != null) return m.stringValue;
      if (m.numberValue != null) return m.numberValue;
      if (m.boolValue != null) return m.boolValue;
      return null;
    }
    case 'google.protobuf.ListValue': {
      const valueType = lookupType('google.protobuf.Value');
      return ((m.values as protobuf.Message[]) ?? []).map((v) => messageToJson(valueType, v));
    }
    default:
      if (WRAPPERS.has(name)) {
        const f = type.fields.value!;
        return scalarJson(f, m.value ?? (f.type === 'string' ? '' : f.type === 'bool' ? false : 0));
      }
  }
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    field.resolve();
    if (!Object.hasOwn(m, field.name)) continue;
    const v = m[field.name];
    if (v === undefined || v === null) continue;
    const key = jsonName(field);
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (field.map) {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length === 0) continue;
      const o: Record<string, unknown> = {};
      for (const [k, ev] of entries)
        o[k] = sub ? messageToJson(sub, ev as protobuf.Message) : scalarJson(field, ev);
      out[key] = o;
    } else if (field.repeated) {
      const arr = v as unknown[];
      if (arr.length === 0) continue;
      out[key] = arr.map((ev) => (sub ? messageToJson(sub, ev as protobuf.Message) : scalarJson(field, ev)));
    } else if (sub) {
      out[key] = messageToJson(sub, v as protobuf.Message);
    } else {
      const explicitPresence =
        field.partOf !== null || (field.options?.proto3_optional as boolean | undefined) === true;
      if (!explicitPresence && isDefaultScalar(field, v)) continue;
      out[key] = scalarJson(field, v);
    }
  }
  return out;
}

/** Plain object (protobufjs form) -> canonical proto3 JSON, by encoding then decoding as `typeName`. */
export function toProtoJson(typeName: string, object: unknown): unknown {
  const type = lookupType(typeName);
  const bytes = type.encode(type.fromObject(object as Record<string, unknown>)).finish();
  return messageToJson(type, type.decode(bytes));
}

/** Canonical proto3 JSON of an encoded message. */
export function bytesToProtoJson(typeName: string, bytes: Uint8Array): unknown {
  const type = lookupType(typeName);
  return messageToJson(type, type.decode(bytes));
}

/**
 * Every key of `object` that `typeName` has no field for, as dotted paths; empty when the object
 * encodes without loss. protobufjs's fromObject drops unknown keys silently, so generators check here.
 */
export function findUnknownFields(typeName: string, object: unknown, path = ''): string[] {
  return walkUnknown(lookupType(typeName), object, path || typeName);
}

function walkUnknown(type: protobuf.Type, object: unknown, path: string): string[] {
  if (object === null || object === undefined || typeof object !== 'object') return [];
  const name = fullName(type);
  if (name === 'google.protobuf.Any') {
    const o = object as Record<string, unknown>;
    const url = o['@type'] as string | undefined;
    if (!url) return 'type_url' in o ? [] : [`${path}: Any without @type`];
    let inner: protobuf.Type;
    try {
      inner = lookupType(typeNameOf(url));
    } catch {
      return [`${path}: unknown type ${url}`];
    }
    const { '@type': _drop, ...rest } = o;
    return walkUnknown(inner, rest, `${path}<${typeNameOf(url)}>`);
  }
  if (
    name === 'google.protobuf.Struct' ||
    name === 'google.protobuf.Value' ||
    name === 'google.protobuf.ListValue'
  )
    return [];
  const errors: string[] = [];
  for (const [key, value] of Object.entries(object as Record<string, unknown>)) {
    const field = type.fields[key];
    if (!field) {
      errors.push(`${path}.${key}: no such field in ${name}`);
      continue;
    }
    field.resolve();
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (
      field.resolvedType instanceof protobuf.Enum &&
      typeof value === 'string' &&
      !(value in field.resolvedType.values)
    ) {
      errors.push(`${path}.${key}: ${value} is not a value of ${fullName(field.resolvedType)}`);
    }
    if (!sub) continue;
    if (field.map) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>))
        errors.push(...walkUnknown(sub, v, `${path}.${key}[${k}]`));
    } else if (field.repeated) {
      (value as unknown[]).forEach((v, i) => {
        errors.push(...walkUnknown(sub, v, `${path}.${key}[${i}]`));
      });
    } else {
      errors.push(...walkUnknown(sub, value, `${path}.${key}`));
    }
  }
  return errors;
}

export { TYPE_PREFIX };
