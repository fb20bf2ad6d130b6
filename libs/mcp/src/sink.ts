import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { type Logger, silentLogger } from '@keel/runtime';
import type { Registry } from 'prom-client';
import { mcpMetrics } from './metrics.js';
import { applyResponse } from './sink-state.js';
import type { McpResource, McpUpdate } from './types.js';
import {
  codeName,
  resourceSourceClient,
  SOURCE_VERSION_HEADER,
  versionsOf,
  type WireRequest,
  type WireResources,
} from './wire.js';

export interface McpSinkOptions {
  /** The source's `host:port`. */
  address: string;
  collections: readonly string[];
  sinkId?: string;
  annotations?: Record<string, string>;
  /** Ask for incremental responses, and resume from held versions on reconnect. */
  incremental?: boolean;
  credentials?: grpc.ChannelCredentials;
  logger?: Logger;
  registry?: Registry;
  /** Value of the `component` metric label (default `mcp-sink`). */
  component?: string;
  /** First reconnect delay; doubles per failed attempt up to maxReconnectDelayMs (default 250). */
  reconnectDelayMs?: number;
  /** Longest reconnect delay (default 2000): a restarted source is followed within about this long. */
  maxReconnectDelayMs?: number;
  /**
   * Largest response accepted (default DEFAULT_SINK_MAX_MESSAGE_BYTES). A response carries a whole
   * collection; Galley caps each resource at 1.5 MiB, so the default admits dozens of maximal ones.
   */
  maxMessageBytes?: number;
  /** Applies one response; a throw or rejection NACKs it and keeps the previous state. */
  apply: (update: McpUpdate) => void | Promise<void>;
}

export type McpSinkEvent = 'connected' | 'disconnected' | 'synced';

export interface McpSink {
  start(): void;
  /** Cancels the stream and stops reconnecting; resolves once an in-flight apply has settled. */
  stop(): Promise<void>;
  /** Every collection has been received at least once. */
  synced(): boolean;
  whenSynced(): Promise<void>;
  /** The last applied state of a collection, by resource name. */
  state(collection: string): ReadonlyMap<string, McpResource>;
  connected(): boolean;
  /** The source's `config.source.version` header from the current or last stream. */
  sourceVersion(): string | undefined;
  /** Subscribes to an event; returns the unsubscribe function. */
  on(event: McpSinkEvent, fn: () => void): () => void;
}

/** Default largest MCP response a sink accepts: 64 MiB (gRPC's own default is 4 MiB). */
export const DEFAULT_SINK_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** `base * 2^failures` capped at `max`, then scaled by a random factor in [0.5, 1) so sinks spread out. */
export function reconnectDelay(base: number, max: number, failures: number, random = Math.random): number {
  const capped = Math.min(base * 2 ** Math.min(failures, 30), max);
  return Math.round(capped * (0.5 + random() / 2));
}
const EMPTY_STATE: ReadonlyMap<string, McpResource> = new Map();

type Call = grpc.ClientDuplexStream<WireRequest, WireResources>;
interface SinkStream {
  call: Call;
  queue: Promise<void>;
  connected: boolean;
  ended: boolean;
}

/** An MCP sink (Pilot's and Mixer's side): dials a source, applies and ACKs what it serves. */
export function createMcpSink(options: McpSinkOptions): McpSink {
  const log = options.logger ?? silentLogger;
  const metrics = mcpMetrics(options.component ?? 'mcp-sink', options.registry);
  const collections = new Set(options.collections);
  const incremental = options.incremental === true;
  const node = {
    id: options.sinkId ?? `${hostname()}-${process.pid}`,
    annotations: options.annotations ?? {},
  };
  const baseDelay = options.reconnectDelayMs ?? 250;
  const maxDelay = Math.max(options.maxReconnectDelayMs ?? 2000, baseDelay);
  const events = new EventEmitter();
  const states = new Map<string, ReadonlyMap<string, McpResource>>();
  const received = new Set<string>();
  let resolveSynced: () => void = () => {};
  const syncedPromise = new Promise<void>((resolve) => {
    resolveSynced = resolve;
  });
  let client: grpc.Client | undefined;
  let active: SinkStream | undefined;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let stopped = true;
  let headerVersion: string | undefined;

  const isSynced = () => received.size === collections.size;

  function send(s: SinkStream, req: WireRequest): void {
    if (!s.ended) s.call.write({ sink_node: node, ...req });
  }

  function nack(s: SinkStream, msg: WireResources, code: grpc.status, message: string): void {
    const collection = msg.collection ?? '';
    log.warn({ collection, nonce: msg.nonce, code: codeName(code), message }, 'MCP sink NACK');
    metrics.nack(collection, codeName(code));
    send(s, { collection, response_nonce: msg.nonce ?? '', incremental, error_detail: { code, message } });
  }

  async function handle(s: SinkStream, msg: WireResources): Promise<void> {
    if (s.ended) return;
    const collection = msg.collection ?? '';
    if (!collections.has(collection)) {
      return nack(s, msg, grpc.status.UNIMPLEMENTED, `unsupported collection "${collection}"`);
    }
    let applied: ReturnType<typeof applyResponse>;
    try {
      applied = applyResponse(states.get(collection) ?? EMPTY_STATE, msg);
      await options.apply(applied.update);
    } catch (err) {
      return nack(s, msg, grpc.status.INVALID_ARGUMENT, err instanceof Error ? err.message : String(err));
    }
    states.set(collection, applied.next);
    metrics.ack(collection);
    send(s, { collection, response_nonce: msg.nonce ?? '', incremental });
    const wasSynced = isSynced();
    received.add(collection);
    if (!wasSynced && isSynced()) {
      resolveSynced();
      events.emit('synced');
    }
  }

  function markConnected(s: SinkStream, metadata?: grpc.Metadata): void {
    const v = metadata?.get(SOURCE_VERSION_HEADER)[0];
    if (v !== undefined) headerVersion = String(v);
    if (s.connected || s.ended) return;
    s.connected = true;
    events.emit('connected');
  }

  function lost(s: SinkStream): void {
    if (s.ended) return;
    s.ended = true;
    if (active === s) active = undefined;
    s.call.end();
    if (s.connected) events.emit('disconnected');
    if (!stopped) scheduleReconnect();
  }

  function scheduleReconnect(): void {
    const delay = reconnectDelay(baseDelay, maxDelay, failures);
    failures += 1;
    log.info({ delay }, 'MCP sink reconnecting');
    timer = setTimeout(() => {
      timer = undefined;
      if (stopped) return;
      metrics.reconnection();
      open();
    }, delay);
  }

  function initialRequest(collection: string): WireRequest {
    const held = states.get(collection);
    const req: WireRequest = { collection, incremental };
    if (incremental && held && held.size > 0) {
      req.initial_resource_versions = Object.fromEntries(versionsOf(held.values()));
    }
    return req;
  }

  function open(): void {
    if (!client) return;
    const call = (client as unknown as { EstablishResourceStream(): Call }).EstablishResourceStream();
    const s: SinkStream = { call, queue: Promise.resolve(), connected: false, ended: false };
    active = s;
    call.on('metadata', (md: grpc.Metadata) => markConnected(s, md));
    call.on('data', (msg: WireResources) => {
      markConnected(s);
      failures = 0;
      s.queue = s.queue.then(() => handle(s, msg));
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (!(stopped && err.code === grpc.status.CANCELLED)) {
        metrics.recvFailure(codeName(err.code), err.details ?? err.message);
        log.warn({ code: codeName(err.code), details: err.details }, 'MCP sink stream failed');
      }
      lost(s);
    });
    call.on('end', () => lost(s));
    for (const collection of collections) send(s, initialRequest(collection));
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      const Client = resourceSourceClient();
      // The channel's own reconnect backoff (grpc-js: up to 120 s) must not outlast ours: a call made
      // while the channel waits would fail at once until then.
      client = new Client(options.address, options.credentials ?? grpc.credentials.createInsecure(), {
        'grpc.initial_reconnect_backoff_ms': Math.min(baseDelay, 1000),
        'grpc.max_reconnect_backoff_ms': maxDelay,
        'grpc.max_receive_message_length': options.maxMessageBytes ?? DEFAULT_SINK_MAX_MESSAGE_BYTES,
      });
      open();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      const s = active;
      if (s) {
        s.call.cancel();
        await s.queue;
        lost(s);
      }
      client?.close();
      client = undefined;
    },
    synced: isSynced,
    whenSynced: () => syncedPromise,
    state: (collection) => states.get(collection) ?? EMPTY_STATE,
    connected: () => active?.connected === true && !active.ended,
    sourceVersion: () => headerVersion,
    on(event, fn) {
      events.on(event, fn);
      return () => events.off(event, fn);
    },
  };
}
