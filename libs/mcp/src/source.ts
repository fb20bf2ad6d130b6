import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '@keel/proto';
import { type Logger, silentLogger } from '@keel/runtime';
import type { Registry } from 'prom-client';
import { type McpMetrics, mcpMetrics } from './metrics.js';
import type { McpAckEvent, McpNackEvent, McpSnapshot, McpStreamInfo } from './types.js';
import { openWatch, receive, respond, type WatchState, watchInfo } from './watch.js';
import { codeName, RESOURCE_SOURCE_SERVICE, SOURCE_VERSION_HEADER, type WireRequest } from './wire.js';

export interface McpSourceOptions {
  /** The only collections served; a request for any other fails with INVALID_ARGUMENT. */
  collections: readonly string[];
  /** Whether a collection may be served incrementally (default: all may). */
  incremental?: (collection: string) => boolean;
  logger?: Logger;
  registry?: Registry;
  /** Value of the `component` metric label (default `mcp-source`). */
  component?: string;
  /** Sent as the `config.source.version` response header (default `keel`). */
  sourceVersion?: string;
  onAck?: (e: McpAckEvent) => void;
  onNack?: (e: McpNackEvent) => void;
}

export interface McpSource {
  /** ResourceSource service definition; serve it with `implementation` on any grpc.Server. */
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
  /** Publishes a snapshot (which must not be mutated afterwards) and pushes changed collections. */
  setSnapshot(snapshot: McpSnapshot): void;
  snapshot(): McpSnapshot | undefined;
  streams(): McpStreamInfo[];
  /** Ends every stream with OK and refuses new ones with UNAVAILABLE. */
  close(): void;
}

type Call = grpc.ServerDuplexStream<WireRequest, Buffer>;

interface SourceStream {
  id: number;
  call: Call;
  sinkId: string;
  peer: string;
  nonce: number;
  watches: Map<string, WatchState>;
  done: boolean;
}

/** Responses are serialized once (to measure them), so the definition passes Buffers through. */
function bufferedDefinition(): { definition: grpc.ServiceDefinition; serialize: (msg: unknown) => Buffer } {
  const base = serviceDefinition(RESOURCE_SOURCE_SERVICE);
  const method = base.EstablishResourceStream;
  if (!method) throw new Error('ResourceSource has no EstablishResourceStream');
  const definition = { ...base, EstablishResourceStream: { ...method, responseSerialize: (b: Buffer) => b } };
  return { definition, serialize: method.responseSerialize as (msg: unknown) => Buffer };
}

/** An MCP source (Galley's side): serves snapshots to sinks over ResourceSource.EstablishResourceStream. */
export function createMcpSource(options: McpSourceOptions): McpSource {
  const log = options.logger ?? silentLogger;
  const metrics: McpMetrics = mcpMetrics(options.component ?? 'mcp-source', options.registry);
  const served = new Set(options.collections);
  const allowIncremental = options.incremental ?? (() => true);
  const { definition, serialize } = bufferedDefinition();
  const streams = new Set<SourceStream>();
  let current: McpSnapshot | undefined;
  let nextStreamId = 0;
  let closed = false;

  const notify = <E>(fn: ((e: E) => void) | undefined, e: E): void => {
    try {
      fn?.(e);
    } catch (err) {
      log.error({ err }, 'MCP source callback threw');
    }
  };

  function finish(s: SourceStream): boolean {
    if (s.done) return false;
    s.done = true;
    streams.delete(s);
    metrics.clientDisconnected();
    return true;
  }

  function fail(s: SourceStream, code: grpc.status, details: string): void {
    log.warn({ stream: s.id, sinkId: s.sinkId, code: codeName(code), details }, 'MCP stream failed');
    if (finish(s)) s.call.emit('error', { code, details });
  }

  function push(s: SourceStream, w: WatchState): void {
    const response = respond(w, current, String(s.nonce + 1));
    if (!response || s.done) return;
    s.nonce += 1;
    const bytes = serialize(response);
    metrics.messageSize(w.collection, bytes.length);
    log.debug({ stream: s.id, collection: w.collection, nonce: response.nonce }, 'MCP response sent');
    s.call.write(bytes, (err: Error | null | undefined) => {
      if (!err) return;
      const code = (err as Partial<grpc.ServiceError>).code ?? grpc.status.UNKNOWN;
      metrics.sendFailure(codeName(code), err.message);
    });
  }

  function onRequest(s: SourceStream, req: WireRequest): void {
    const collection = req.collection ?? '';
    if (!collection || !served.has(collection)) {
      const details = collection ? `unsupported collection "${collection}"` : 'request has no collection';
      fail(s, grpc.status.INVALID_ARGUMENT, details);
      return;
    }
    if (!s.sinkId && req.sink_node?.id) s.sinkId = req.sink_node.id;
    const existing = s.watches.get(collection);
    if (!existing || !req.response_nonce) {
      const w = openWatch(req, collection, allowIncremental(collection));
      s.watches.set(collection, w);
      push(s, w);
      return;
    }
    const outcome = receive(existing, req);
    const base = { sinkId: s.sinkId, collection, nonce: req.response_nonce };
    if (outcome.kind === 'stale') {
      log.info({ ...base, stream: s.id, pending: outcome.pendingNonce }, 'MCP stale nonce ignored');
      return;
    }
    if (outcome.kind === 'nack') {
      metrics.nack(collection, codeName(outcome.error.code));
      log.warn({ ...base, version: outcome.version, error: outcome.error }, 'MCP NACK');
      notify(options.onNack, { ...base, version: outcome.version, error: outcome.error });
    } else {
      metrics.ack(collection);
      notify(options.onAck, { ...base, version: outcome.version });
    }
    push(s, existing);
  }

  function establish(call: Call): void {
    if (closed) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'MCP source is closed' });
      return;
    }
    const s: SourceStream = {
      id: ++nextStreamId,
      call,
      sinkId: '',
      peer: call.getPeer(),
      nonce: 0,
      watches: new Map(),
      done: false,
    };
    streams.add(s);
    metrics.clientConnected();
    const header = new grpc.Metadata();
    header.set(SOURCE_VERSION_HEADER, options.sourceVersion ?? 'keel');
    call.sendMetadata(header);
    call.on('data', (req: WireRequest) => {
      if (s.done) return;
      try {
        onRequest(s, req);
      } catch (err) {
        log.error({ err, stream: s.id }, 'MCP request handling failed');
        fail(s, grpc.status.INTERNAL, 'internal error handling request');
      }
    });
    call.on('end', () => {
      if (finish(s)) call.end();
    });
    call.on('cancelled', () => finish(s));
    call.on('error', () => finish(s));
    call.on('close', () => finish(s));
  }

  return {
    definition,
    implementation: {
      EstablishResourceStream: establish as grpc.handleBidiStreamingCall<WireRequest, Buffer>,
    },
    setSnapshot(snapshot) {
      current = snapshot;
      for (const s of [...streams]) for (const w of s.watches.values()) push(s, w);
    },
    snapshot: () => current,
    streams: () =>
      [...streams].map((s) => ({
        id: s.id,
        sinkId: s.sinkId,
        peer: s.peer,
        collections: Object.fromEntries([...s.watches].map(([c, w]) => [c, watchInfo(w)])),
      })),
    close() {
      closed = true;
      for (const s of [...streams]) if (finish(s)) s.call.end();
    },
  };
}
