// Test harness: a real MCP source (grpc-js, port 0) feeding a real Pilot (all ports 0).
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { formatError, kindFor, MESH_CONFIG_COLLECTION, toResource, validateResource } from '@keel/config';
import { toMcpResource as galleyMcpResource } from '@keel/galley';
import { createMcpSource, type McpResource, type McpSnapshot, type McpSource } from '@keel/mcp';
import { packStruct } from '@keel/proto';
import { silentLogger } from '@keel/runtime';
import { pilotCollections } from '../src/server/config-store.js';
import { createPilot, type Pilot, type PilotOptions, type PilotPorts } from '../src/server/pilot.js';
import type { KubeObject } from './fixtures/store.js';

const hash = (v: unknown) => createHash('sha1').update(JSON.stringify(v)).digest('hex').slice(0, 12);

/**
 * One Kubernetes-style object as Galley serves it: validated by Galley's validation (rejection is a
 * test bug and throws), encoded by Galley's MCP encoder. `seq` orders creation times.
 */
export function toMcpResource(obj: KubeObject, seq: number): { collection: string; resource: McpResource } {
  const parsed = toResource(obj);
  if ('error' in parsed) throw new Error(`test object does not parse: ${formatError(parsed.error)}`);
  const checked = validateResource(parsed.resource, { defaultNamespace: 'default' });
  if (!checked.ok)
    throw new Error(`test object rejected by Galley: ${checked.errors.map(formatError).join('; ')}`);
  const info = kindFor(checked.value.apiVersion, checked.value.kind);
  if (!info) throw new Error(`test object has unknown kind ${obj.apiVersion}/${obj.kind}`);
  const r = galleyMcpResource({ resource: checked.value, origin: 'test', version: hash(checked.value.body) });
  const createTime = r.metadata.createTime ?? new Date(Date.UTC(2020, 0, 1, 0, 0, seq));
  return { collection: info.collection, resource: { ...r, metadata: { ...r.metadata, createTime } } };
}

/** Every Pilot collection (empty ones included) from a list of objects, plus a mesh config. */
export function mcpSnapshot(
  objects: readonly KubeObject[],
  version: string,
  mesh: Record<string, unknown> = {},
): McpSnapshot {
  const collections = new Map<string, McpResource[]>(pilotCollections().map((c) => [c, []]));
  objects.forEach((o, i) => {
    const { collection, resource } = toMcpResource(o, i + 1);
    collections.get(collection)?.push(resource);
  });
  collections.set(MESH_CONFIG_COLLECTION, [
    { metadata: { name: 'istio-system/meshconfig', version: hash(mesh) }, body: packStruct(mesh) },
  ]);
  return { version, collections };
}

export interface Harness {
  pilot: Pilot;
  source: McpSource;
  ports: PilotPorts;
  /** Publishes a new MCP snapshot of `objects`. */
  publish(objects: readonly KubeObject[], mesh?: Record<string, unknown>): void;
  /** GET on Pilot's HTTP (8080-role) port, or the monitoring port. */
  get(path: string, port?: 'http' | 'monitoring'): Promise<{ status: number; body: any; text: string }>;
  /** POST with an empty body. */
  post(path: string): Promise<{ status: number; text: string }>;
  stop(): Promise<void>;
}

/** Starts an MCP source serving nothing yet (unless `objects` given) and a Pilot reading from it. */
export async function startHarness(
  objects: readonly KubeObject[] | undefined,
  options: Partial<PilotOptions> = {},
): Promise<Harness> {
  const source = createMcpSource({ collections: pilotCollections() });
  const mcpServer = new grpc.Server();
  mcpServer.addService(source.definition, source.implementation);
  const mcpPort = await new Promise<number>((resolve, reject) =>
    mcpServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  let generation = 0;
  const publish = (objs: readonly KubeObject[], mesh?: Record<string, unknown>) => {
    generation += 1;
    source.setSnapshot(mcpSnapshot(objs, `v${generation}`, mesh));
  };
  if (objects) publish(objects);
  const pilot = createPilot({
    mcpAddress: `127.0.0.1:${mcpPort}`,
    host: '127.0.0.1',
    grpcPort: 0,
    httpPort: 0,
    monitoringPort: 0,
    debounceAfterMs: 10,
    debounceMaxMs: 200,
    logger: silentLogger,
    podName: 'pilot-test',
    ...options,
  });
  const ports = await pilot.start();
  const get = async (path: string, which: 'http' | 'monitoring' = 'http') => {
    const port = which === 'http' ? ports.httpPort : ports.monitoringPort;
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body, text };
  };
  return {
    pilot,
    source,
    ports,
    publish,
    get,
    async post(path: string) {
      const res = await fetch(`http://127.0.0.1:${ports.httpPort}${path}`, { method: 'POST' });
      return { status: res.status, text: await res.text() };
    },
    async stop() {
      await pilot.stop();
      source.close();
      mcpServer.forceShutdown();
    },
  };
}

/** Resolves with the first `name` event whose argument satisfies `match`; rejects after `ms`. */
export function waitEvent<T = any>(
  events: EventEmitter,
  name: string,
  match: (arg: T) => boolean = () => true,
  ms = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      events.off(name, listener);
      reject(new Error(`timed out waiting for ${name}`));
    }, ms);
    const listener = (arg: T) => {
      if (!match(arg)) return;
      clearTimeout(timer);
      events.off(name, listener);
      resolve(arg);
    };
    events.on(name, listener);
  });
}
