// Reads a bootstrap file the way Envoy does: canonical proto3 JSON of envoy.config.bootstrap.v3.Bootstrap,
// with every field known (an unknown field is an error, as Envoy rejects it), then encodes it with
// the Bootstrap proto. Used to check what the agent wrote, and any ISTIO_BOOTSTRAP_OVERRIDE.
import { jsonToStruct, jsonToValue, lookupType, TYPE_PREFIX } from '@keel/proto';
import type { Result } from '@keel/runtime';
import protobuf from 'protobufjs';

const WRAPPERS = new Set(
  [
    'DoubleValue',
    'FloatValue',
    'Int64Value',
    'UInt64Value',
    'Int32Value',
    'UInt32Value',
    'BoolValue',
    'StringValue',
    'BytesValue',
  ].map((n) => `google.protobuf.${n}`),
);

function parseDurationJson(v: unknown, path: string, errors: string[]): unknown {
  const m = typeof v === 'string' ? /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(v) : null;
  if (!m) {
    errors.push(`${path}: '${String(v)}' is not a duration like "1.5s"`);
    return undefined;
  }
  return { seconds: Number(m[1]), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

function fromJson(
  type: protobuf.Type,
  json: unknown,
  path: string,
  errors: string[],
  depth: number,
): unknown {
  if (depth > 64) {
    errors.push(`${path}: nested too deeply`);
    return undefined;
  }
  const name = type.fullName.replace(/^\./, '');
  if (name === 'google.protobuf.Duration') return parseDurationJson(json, path, errors);
  if (name === 'google.protobuf.Struct') return jsonToStruct(json as Record<string, unknown>);
  if (name === 'google.protobuf.Value') return jsonToValue(json);
  if (WRAPPERS.has(name)) return { value: json };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    errors.push(`${path}: expected an object for ${name}`);
    return undefined;
  }
  const obj = json as Record<string, unknown>;
  if (name === 'google.protobuf.Any') {
    const url = obj['@type'];
    if (typeof url !== 'string' || !url.startsWith(TYPE_PREFIX)) {
      errors.push(`${path}: Any without a type.googleapis.com/ @type`);
      return undefined;
    }
    let inner: protobuf.Type;
    try {
      inner = lookupType(url.slice(TYPE_PREFIX.length));
    } catch {
      errors.push(`${path}: unknown type ${url}`);
      return undefined;
    }
    const { '@type': _t, ...rest } = obj;
    return {
      '@type': url,
      ...(fromJson(inner, rest, `${path}<${inner.name}>`, errors, depth + 1) as object),
    };
  }
  const byJsonName = new Map<string, protobuf.Field>();
  for (const f of type.fieldsArray) {
    byJsonName.set(f.name, f);
    byJsonName.set(protobuf.util.camelCase(f.name), f);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    const field = byJsonName.get(key);
    if (!field) {
      errors.push(`${path}.${key}: no such field in ${name}`);
      continue;
    }
    field.resolve();
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const conv = (v: unknown, p: string) => (sub ? fromJson(sub, v, p, errors, depth + 1) : v);
    if (field.map)
      out[field.name] = Object.fromEntries(
        Object.entries(value as object).map(([k, v]) => [k, conv(v, `${path}.${key}[${k}]`)]),
      );
    else if (field.repeated)
      out[field.name] = (value as unknown[]).map((v, i) => conv(v, `${path}.${key}[${i}]`));
    else out[field.name] = conv(value, `${path}.${key}`);
  }
  return out;
}

/** Parses bootstrap JSON text into an encoded Bootstrap; every unknown field or bad value is listed. */
export function decodeBootstrapJson(
  text: string,
): Result<{ bytes: Uint8Array; message: protobuf.Message }, string[]> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, errors: [`not JSON: ${(e as Error).message}`] };
  }
  const type = lookupType('envoy.config.bootstrap.v3.Bootstrap');
  const errors: string[] = [];
  const object = fromJson(type, json, 'Bootstrap', errors, 0);
  if (errors.length) return { ok: false, errors };
  const message = type.fromObject(object as Record<string, unknown>);
  const invalid = type.verify(message);
  if (invalid) return { ok: false, errors: [invalid] };
  const bytes = type.encode(message).finish();
  return { ok: true, value: { bytes, message: type.decode(bytes) } };
}

/** Proto merge of JSON: objects merge field by field, repeated fields append, scalars replace. */
function mergeJson(base: unknown, over: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(over)) return [...base, ...over];
  if (
    base &&
    over &&
    typeof base === 'object' &&
    typeof over === 'object' &&
    !Array.isArray(base) &&
    !Array.isArray(over)
  ) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>))
      out[k] = k in out ? mergeJson(out[k], v) : v;
    return out;
  }
  return over;
}

/**
 * ISTIO_BOOTSTRAP_OVERRIDE: merges a user's bootstrap JSON into the generated one (proto merge), then
 * checks the result against the Bootstrap proto; every problem is listed.
 */
export function applyBootstrapOverride(base: unknown, overrideText: string): Result<unknown, string[]> {
  let over: unknown;
  try {
    over = JSON.parse(overrideText);
  } catch (e) {
    return { ok: false, errors: [`bootstrap override is not JSON: ${(e as Error).message}`] };
  }
  const merged = mergeJson(base, over);
  const check = decodeBootstrapJson(JSON.stringify(merged));
  return check.ok
    ? { ok: true, value: merged }
    : { ok: false, errors: check.errors.map((e) => `bootstrap override: ${e}`) };
}
