/** Metadata of one MCP resource; `version` identifies its content (a k8s resourceVersion). */
export interface McpMetadata {
  /** `"<namespace>/<name>"`, or the bare name when cluster scoped. */
  name: string;
  version: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  createTime?: Date;
}

/** The body of a resource, packed as google.protobuf.Any. */
export interface McpBody {
  type_url: string;
  value: Uint8Array;
}

/** One configuration resource as served over MCP. */
export interface McpResource {
  metadata: McpMetadata;
  body: McpBody;
}

/**
 * A versioned set of collections, immutable once published. Every collection listed is served
 * (possibly empty); a served collection missing from the map is served empty.
 */
export interface McpSnapshot {
  version: string;
  collections: ReadonlyMap<string, readonly McpResource[]>;
}

/** google.rpc.Status as carried in a NACK. */
export interface McpError {
  code: number;
  message: string;
}

/** An ACK received by a source. */
export interface McpAckEvent {
  sinkId: string;
  collection: string;
  nonce: string;
  version: string;
}

/** A NACK received by a source. */
export interface McpNackEvent {
  sinkId: string;
  collection: string;
  nonce: string;
  version: string;
  error: McpError;
}

/** Debug view of one collection watched on one source stream. */
export interface McpWatchInfo {
  /** The sink asked for incremental responses and the collection allows them. */
  incremental: boolean;
  /** Nonce of the last response sent, and whether its ACK/NACK is still awaited. */
  nonceSent?: string;
  pending: boolean;
  versionSent?: string;
  ackedVersion?: string;
  /** Number of resources whose versions the sink has acknowledged. */
  ackedResources: number;
  lastNack?: McpError & { nonce: string; version: string };
}

/** Debug view of one source stream (one connected sink). */
export interface McpStreamInfo {
  id: number;
  sinkId: string;
  peer: string;
  collections: Record<string, McpWatchInfo>;
}

/** What a sink hands to its `apply` callback for one response. */
export interface McpUpdate {
  collection: string;
  /** The full current set after applying this response. */
  resources: McpResource[];
  /** Resources added or whose version changed. */
  changed: McpResource[];
  /** Names that are gone. */
  removed: string[];
  /** Whether the response was incremental (a delta) rather than a full set. */
  incremental: boolean;
  /** The source's system_version_info (the snapshot version). */
  version: string;
}
