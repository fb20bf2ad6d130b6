import type { ConfigError, Resource, SourceRef } from './types.js';

/** The stable error codes of @keel/config. */
export const ErrorCode = {
  /** A file could not be read. */
  READ_FAILED: 'READ_FAILED',
  /** YAML/JSON syntax error in one document. */
  YAML_SYNTAX: 'YAML_SYNTAX',
  /** A mapping key appears twice in one YAML document. */
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  /** A document is not a mapping (e.g. a bare scalar or a list). */
  NOT_AN_OBJECT: 'NOT_AN_OBJECT',
  MISSING_API_VERSION: 'MISSING_API_VERSION',
  MISSING_KIND: 'MISSING_KIND',
  /** apiVersion/kind is not a kind Keel knows. */
  UNKNOWN_KIND: 'UNKNOWN_KIND',
  MISSING_NAME: 'MISSING_NAME',
  INVALID_NAME: 'INVALID_NAME',
  MISSING_NAMESPACE: 'MISSING_NAMESPACE',
  INVALID_NAMESPACE: 'INVALID_NAMESPACE',
  /** metadata is not a mapping, or a metadata field has the wrong type. */
  INVALID_METADATA: 'INVALID_METADATA',
  /** A top-level field outside apiVersion, kind, metadata, spec, status. */
  UNKNOWN_TOP_LEVEL_FIELD: 'UNKNOWN_TOP_LEVEL_FIELD',
  /** The kind's spec validator rejected the body. */
  INVALID_SPEC: 'INVALID_SPEC',
  /** A spec validator threw: a bug in Keel, reported instead of crashing the caller. */
  VALIDATOR_FAILED: 'VALIDATOR_FAILED',
  /** Two resources with the same kind, namespace and name in one input set. */
  DUPLICATE_RESOURCE: 'DUPLICATE_RESOURCE',
  /** A resource is larger than the size limit (1.5 MiB unless configured). */
  TOO_LARGE: 'TOO_LARGE',
  /** A field nests objects/arrays deeper than the depth limit. */
  TOO_DEEP: 'TOO_DEEP',
  /** Mesh config: a field is unknown or has the wrong type/value. */
  INVALID_MESH_CONFIG: 'INVALID_MESH_CONFIG',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Builds a ConfigError for a resource, copying kind/namespace/name/source from it. */
export function resourceError(res: Resource, code: ErrorCode, message: string, field?: string): ConfigError {
  const e: ConfigError = { code, message, kind: res.kind };
  if (res.metadata.namespace !== undefined) e.namespace = res.metadata.namespace;
  if (res.metadata.name !== '') e.name = res.metadata.name;
  if (res.source !== undefined) e.source = res.source;
  if (field !== undefined) e.field = field;
  return e;
}

/** Builds a ConfigError tied only to a place in a file. */
export function sourceError(code: ErrorCode, message: string, source?: SourceRef): ConfigError {
  return source === undefined ? { code, message } : { code, message, source };
}

/** `file:line kind namespace/name: reason`, with the unknown parts left out. */
export function formatError(e: ConfigError): string {
  const parts: string[] = [];
  if (e.source?.file !== undefined) {
    parts.push(e.source.line !== undefined ? `${e.source.file}:${e.source.line}` : e.source.file);
  } else if (e.source?.line !== undefined) {
    parts.push(`line ${e.source.line}`);
  }
  if (e.kind !== undefined) parts.push(e.kind);
  if (e.name !== undefined) parts.push(e.namespace !== undefined ? `${e.namespace}/${e.name}` : e.name);
  const reason = e.field !== undefined ? `${e.field}: ${e.message}` : e.message;
  return parts.length > 0 ? `${parts.join(' ')}: ${reason}` : reason;
}
