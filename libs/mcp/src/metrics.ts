import { Counter, Gauge, register as globalRegistry, Histogram, type Registry } from 'prom-client';

/** Istio's MCP metrics (`istio_mcp_*`), every series labelled with `component`. */
export interface McpMetrics {
  clientConnected(): void;
  clientDisconnected(): void;
  messageSize(collection: string, bytes: number): void;
  ack(collection: string): void;
  nack(collection: string, code: string): void;
  sendFailure(code: string, error: string): void;
  recvFailure(code: string, error: string): void;
  reconnection(): void;
}

type Kind = 'counter' | 'gauge' | 'histogram';

// Source and sink may share a registry: a metric is created once and reused by name.
function metric(registry: Registry, kind: Kind, name: string, help: string, labels: string[]) {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<string> & Gauge<string> & Histogram<string>;
  const config = { name, help, labelNames: ['component', ...labels], registers: [registry] };
  if (kind === 'counter') return new Counter(config) as Counter<string> & Gauge<string> & Histogram<string>;
  if (kind === 'gauge') return new Gauge(config) as Counter<string> & Gauge<string> & Histogram<string>;
  const buckets = [0, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];
  return new Histogram({ ...config, buckets }) as Counter<string> & Gauge<string> & Histogram<string>;
}

/** The MCP metric set for one component, registered in `registry` (prom-client's global one by default). */
export function mcpMetrics(component: string, registry: Registry = globalRegistry): McpMetrics {
  const clients = metric(registry, 'gauge', 'istio_mcp_clients_total', 'Number of connected MCP streams', []);
  const sizes = metric(registry, 'histogram', 'istio_mcp_message_sizes_bytes', 'Size of MCP responses sent', [
    'collection',
  ]);
  const acks = metric(registry, 'counter', 'istio_mcp_request_acks_total', 'MCP ACKs', ['collection']);
  const nacks = metric(registry, 'counter', 'istio_mcp_request_nacks_total', 'MCP NACKs', [
    'collection',
    'code',
  ]);
  const sendFail = metric(registry, 'counter', 'istio_mcp_send_failures_total', 'MCP send failures', [
    'code',
    'error',
  ]);
  const recvFail = metric(registry, 'counter', 'istio_mcp_recv_failures_total', 'MCP receive failures', [
    'code',
    'error',
  ]);
  const reconnections = metric(registry, 'counter', 'istio_mcp_reconnections', 'MCP sink reconnections', []);
  return {
    clientConnected: () => clients.inc({ component }),
    clientDisconnected: () => clients.dec({ component }),
    messageSize: (collection, bytes) => sizes.observe({ component, collection }, bytes),
    ack: (collection) => acks.inc({ component, collection }),
    nack: (collection, code) => nacks.inc({ component, collection, code }),
    sendFailure: (code, error) => sendFail.inc({ component, code, error }),
    recvFailure: (code, error) => recvFail.inc({ component, code, error }),
    reconnection: () => reconnections.inc({ component }),
  };
}
