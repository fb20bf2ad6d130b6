import * as grpc from '@grpc/grpc-js';
import { packStruct, serviceClient } from '@keel/proto';
import { Registry } from 'prom-client';
import {
  createMcpSink,
  createMcpSource,
  type McpAckEvent,
  type McpResource,
  type McpSinkOptions,
  type McpSnapshot,
  type McpSource,
  type McpSourceOptions,
  type McpUpdate,
} from '../src/index.js';

/** Rejects after `ms` so a missing event fails the test instead of hanging it. */
export function within<T>(promise: Promise<T>, label: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${label}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Records values pushed by a callback and lets a test await the first one matching a predicate. */
export class Recorder<T> {
  readonly items: T[] = [];
  private waiters: { pred: (t: T) => boolean; resolve: (t: T) => void }[] = [];

  push = (item: T): void => {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (w.pred(item)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(item);
      }
    }
  };

  /** The first item (already recorded or future) matching `pred`. */
  next(pred: (t: T) => boolean, label: string, from = 0): Promise<T> {
    const found = this.items.slice(from).find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return within(new Promise<T>((resolve) => this.waiters.push({ pred, resolve })), label);
  }
}

/** A Struct-bodied resource. */
export function res(name: string, version: string, spec: Record<string, unknown> = {}): McpResource {
  return { metadata: { name, version }, body: packStruct({ name, ...spec }) };
}

export function snap(version: string, collections: Record<string, McpResource[]>): McpSnapshot {
  return { version, collections: new Map(Object.entries(collections)) };
}

export interface RunningSource {
  source: McpSource;
  server: grpc.Server;
  port: number;
  address: string;
  registry: Registry;
  stop(): Promise<void>;
}

/** Serves a fresh MCP source on 127.0.0.1 (port 0 unless given). */
export async function startSource(
  options: Omit<McpSourceOptions, 'registry'>,
  port = 0,
  registry = new Registry(),
): Promise<RunningSource> {
  const source = createMcpSource({ registry, component: 'galley', ...options });
  const server = await serve(source, port);
  return {
    source,
    server: server.server,
    port: server.port,
    address: `127.0.0.1:${server.port}`,
    registry,
    stop: () => stopServer(server.server),
  };
}

export async function serve(source: McpSource, port: number): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(source.definition, source.implementation);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { server, port: bound };
}

export function stopServer(server: grpc.Server): Promise<void> {
  server.forceShutdown();
  return Promise.resolve();
}

/** A raw ResourceSource client stream, for driving the protocol by hand. */
export function rawStream(address: string) {
  const Client = serviceClient('istio.mcp.v1alpha1.ResourceSource');
  const client = new Client(address, grpc.credentials.createInsecure());
  const call = (client as any).EstablishResourceStream() as grpc.ClientDuplexStream<any, any>;
  const responses = new Recorder<any>();
  const headers = new Promise<grpc.Metadata>((resolve) => call.on('metadata', resolve));
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('data', responses.push);
  call.on('error', () => {});
  return {
    call,
    responses,
    headers,
    status,
    close() {
      call.cancel();
      client.close();
    },
  };
}

/** Value of one sample of a metric in a registry, or undefined. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const data = await metric.get();
  const sample = data.values.find((v) =>
    Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val),
  );
  return sample?.value;
}

/** Starts a sink whose applied updates are recorded (before `apply`, if given, decides). */
export function startSink(address: string, options: Partial<McpSinkOptions> = {}) {
  const updates = new Recorder<McpUpdate>();
  const { apply, ...rest } = options;
  const sink = createMcpSink({
    address,
    collections: [],
    registry: new Registry(),
    reconnectDelayMs: 20,
    ...rest,
    apply: (u) => {
      updates.push(u);
      return apply?.(u);
    },
  });
  sink.start();
  return { sink, updates };
}

/** Waits until the source has seen an ACK for `collection` at `version`. */
export function acked(
  acks: Recorder<McpAckEvent>,
  collection: string,
  version: string,
): Promise<McpAckEvent> {
  return acks.next(
    (a) => a.collection === collection && a.version === version,
    `ACK ${collection}@${version}`,
  );
}
