import { lookupType } from './roots.js';
import { TYPE_PREFIX, typeNameOf } from './type-urls.js';

/** The protobufjs wire form of google.protobuf.Any (well-known types keep their snake_case here). */
export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

/** Encodes a plain object (protobufjs object form, `.proto` field names) as the given message type. */
export function encodeMessage(typeName: string, object: unknown): Uint8Array {
  const type = lookupType(typeName);
  return type.encode(type.fromObject(object as Record<string, unknown>)).finish();
}

/** Decodes bytes into a protobufjs message (field names as in the .proto). */
export function decodeMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = lookupType(typeName);
  return type.toObject(type.decode(bytes), {
    longs: String,
    enums: String,
    bytes: Buffer,
    defaults: false,
    json: true,
  }) as Record<string, unknown>;
}

/** Packs an object into an Any of the given type URL. */
export function packAny(typeUrl: string, object: unknown): AnyMessage {
  return { type_url: typeUrl, value: encodeMessage(typeNameOf(typeUrl), object) };
}

/** Unpacks an Any into its message object; throws when the type is unknown. */
export function unpackAny(any: { type_url: string; value: Uint8Array }): Record<string, unknown> {
  return decodeMessage(typeNameOf(any.type_url), any.value);
}

/** Embeds a typed message inside another object for protobufjs: `{ '@type': url, ...fields }` is packed on encode. */
export function typed<T extends object>(typeName: string, fields: T): T & { '@type': string } {
  return { '@type': TYPE_PREFIX + typeName, ...fields };
}

// google.protobuf.Struct and Value keep protobufjs's mixed casing whatever keepCase says.
export interface StructMessage {
  fields: Record<string, ValueMessage>;
}
export type ValueMessage =
  | { nullValue: 0 | 'NULL_VALUE' }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: StructMessage }
  | { listValue: { values: ValueMessage[] } };

/** Plain JSON -> google.protobuf.Value. */
export function jsonToValue(v: unknown): ValueMessage {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'bigint') return { numberValue: Number(v) };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  if (v instanceof Date) return { stringValue: v.toISOString() };
  return { structValue: jsonToStruct(v as Record<string, unknown>) };
}

/** Plain JSON object -> google.protobuf.Struct. */
export function jsonToStruct(obj: Record<string, unknown>): StructMessage {
  const fields: Record<string, ValueMessage> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined) fields[k] = jsonToValue(v);
  }
  return { fields };
}

/** google.protobuf.Value (as decoded by protobufjs) -> plain JSON. */
export function valueToJson(v: Record<string, unknown> | undefined | null): unknown {
  if (!v) return null;
  if ('structValue' in v && v.structValue) return structToJson(v.structValue as StructMessage);
  if ('listValue' in v && v.listValue) {
    const values = (v.listValue as { values?: Record<string, unknown>[] }).values ?? [];
    return values.map(valueToJson);
  }
  if ('stringValue' in v) return v.stringValue;
  if ('numberValue' in v) return v.numberValue;
  if ('boolValue' in v) return v.boolValue;
  return null;
}

/** google.protobuf.Struct -> plain JSON object. */
export function structToJson(
  s: { fields?: Record<string, unknown> } | undefined | null,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = valueToJson(v as Record<string, unknown>);
  return out;
}

/** Packs plain JSON as an Any of google.protobuf.Struct (how MCP bodies travel). */
export function packStruct(obj: Record<string, unknown>): AnyMessage {
  return {
    type_url: TYPE_PREFIX + 'google.protobuf.Struct',
    value: encodeMessage('google.protobuf.Struct', jsonToStruct(obj)),
  };
}

/** Decodes an Any holding a google.protobuf.Struct back into plain JSON. */
export function unpackStruct(any: { type_url: string; value: Uint8Array }): Record<string, unknown> {
  const type = lookupType('google.protobuf.Struct');
  const msg = type.toObject(type.decode(any.value), { defaults: false }) as {
    fields?: Record<string, unknown>;
  };
  return structToJson(msg);
}
