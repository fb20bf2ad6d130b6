export { type McpMetrics, mcpMetrics } from './metrics.js';
export {
  createMcpSink,
  DEFAULT_SINK_MAX_MESSAGE_BYTES,
  type McpSink,
  type McpSinkEvent,
  type McpSinkOptions,
  reconnectDelay,
} from './sink.js';
export { applyResponse } from './sink-state.js';
export { createMcpSource, type McpSource, type McpSourceOptions } from './source.js';
export type {
  McpAckEvent,
  McpBody,
  McpError,
  McpMetadata,
  McpNackEvent,
  McpResource,
  McpSnapshot,
  McpStreamInfo,
  McpUpdate,
  McpWatchInfo,
} from './types.js';
export { RESOURCE_SOURCE_SERVICE, SOURCE_VERSION_HEADER } from './wire.js';
