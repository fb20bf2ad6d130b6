/** Kubernetes-style object metadata, as read from YAML. `name` is '' when the document has none. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  creationTimestamp?: string;
  uid?: string;
  ownerReferences?: Record<string, unknown>[];
}

/** Where a resource or error came from: file and 1-based line of the document start. */
export interface SourceRef {
  file?: string;
  line?: number;
}

/**
 * One config object. `body` is `spec` for Istio kinds and, for core Kubernetes kinds, the whole
 * object minus apiVersion/kind/metadata (Endpoints -> {subsets}, Pod -> {spec, status}).
 * `extra` holds top-level fields an Istio kind does not allow (kept so validation can reject them).
 */
export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  body: Record<string, unknown>;
  source?: SourceRef;
  extra?: Record<string, unknown>;
}

/** A coded configuration error; `code` is one of ErrorCode (src/errors.ts). */
export interface ConfigError {
  code: string;
  message: string;
  field?: string;
  source?: SourceRef;
  kind?: string;
  namespace?: string;
  name?: string;
}

/** Expected failures are values. */
export type Result<T, E> = { ok: true; value: T } | { ok: false; errors: E };
