import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { kindFor, meshConfigDefaults, type Resource } from '@keel/config';
import { buildSnapshot, contentVersion, ResourceStore, servedCollections } from '@keel/galley';
import { createMcpSource, type McpSource } from '@keel/mcp';
import { endpoints, generateMesh, type MeshSpec, serviceRef, virtualService } from './mesh.js';
import { type ServerProcess, startServer } from './proc.js';
import type { BenchContext } from './types.js';

/** An xDS server under load and the three config changes the benchmark triggers. */
export interface XdsTarget {
  label: string;
  address: string;
  pid: number;
  /** A VirtualService / route change every proxy sees (RDS). */
  routeChange(n: number): void;
  /** One endpoint of one service moves (EDS only). */
  endpointChange(n: number): void;
  /** A new config version with identical content: no proxy's config changes. */
  noopChange(n: number): void;
  /** The server's own account of its next push, when it logs one ('push done'). */
  nextPush?(): Promise<Record<string, unknown>>;
  /** Used V8 heap, bytes, from the server's /metrics (when it has a monitoring port). */
  heapBytes?(): Promise<number>;
  /** Memory of Buffers and other objects outside the V8 heap, bytes, from /metrics. */
  externalBytes?(): Promise<number>;
  stop(): Promise<void>;
}

export const PILOT_MAIN = 'services/pilot/dist/src/main.js';
export const BASELINE_MAIN = 'bench/dist/src/xds-baseline-server.js';

export function pilotBuilt(ctx: BenchContext): boolean {
  return existsSync(join(ctx.repoRoot, PILOT_MAIN));
}

/** libs/xds serving a pre-built snapshot equal in size to the mesh (no generation), as a child process. */
export async function startBaseline(ctx: BenchContext, spec: MeshSpec): Promise<XdsTarget> {
  const args = ['--services', String(spec.services), '--pods', String(spec.podsPerService)];
  args.push('--routed-every', String(spec.routedEvery), '--namespaces', String(spec.namespaces));
  const p = await startServer(ctx, BASELINE_MAIN, args, 'baseline listening');
  return {
    label: 'libs/xds baseline',
    address: `127.0.0.1:${p.ready.grpcPort}`,
    pid: p.pid,
    routeChange: (n) => p.send(`route ${n + 11}`),
    endpointChange: (n) => p.send(`endpoint ${n + 1}`),
    noopChange: () => p.send('same'),
    stop: () => p.stop(),
  };
}

/** The generated mesh as Galley would serve it over MCP (same collections, Struct bodies, versions). */
class MeshConfigStore {
  readonly store = new ResourceStore();
  private version = 0;
  constructor(resources: Resource[]) {
    for (const r of resources) this.put(r);
  }
  put(r: Resource): void {
    const info = kindFor(r.apiVersion, r.kind);
    if (!info) throw new Error(`no kind for ${r.apiVersion}/${r.kind}`);
    const version = contentVersion([r.metadata.labels, r.metadata.annotations, r.body]);
    this.store.upsert(info.collection, { resource: r, origin: 'bench', version });
  }
  publish(mcp: McpSource): void {
    this.version += 1;
    const mesh = meshConfigDefaults() as unknown as Record<string, unknown>;
    mcp.setSnapshot(buildSnapshot(this.store, servedCollections(), mesh, `bench-${this.version}`));
  }
}

async function listen(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

/** Waits until a sink has ACKed the current version of every collection it watches (bounded). */
async function mcpSynced(mcp: McpSource, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  const version = mcp.snapshot()?.version;
  for (;;) {
    const streams = mcp.streams();
    const watches = streams.flatMap((s) => Object.values(s.collections));
    if (watches.length > 0 && watches.every((w) => !w.pending && w.versionSent === version)) return;
    if (Date.now() > until)
      throw new Error(`pilot did not ACK MCP snapshot ${version} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until Pilot's /ready answers 200 (its first push is done): in a cluster, sidecars reach a Pilot
 * through its Service only once its readiness probe passes, so a storm starts there (bounded).
 */
async function pilotReady(monitoringPort: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${monitoringPort}/ready`);
    await res.arrayBuffer();
    if (res.status === 200) return;
    if (Date.now() > until) throw new Error(`pilot not ready within ${timeoutMs} ms (/ready ${res.status})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One unlabelled sample of `name` from a /metrics page. */
async function metric(port: number, name: string): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(await res.text());
  return m ? Number(m[1]) : undefined;
}

/** A real Pilot process fed by an MCP source in this process serving the generated mesh. */
export async function startPilot(ctx: BenchContext, spec: MeshSpec): Promise<XdsTarget> {
  const config = new MeshConfigStore(generateMesh(spec));
  const mcp = createMcpSource({ collections: servedCollections(), component: 'bench-mcp' });
  const server = new grpc.Server({ 'grpc.max_send_message_length': -1 });
  server.addService(mcp.definition, mcp.implementation);
  const mcpPort = await listen(server);
  config.publish(mcp);
  let pilot: ServerProcess | undefined;
  try {
    pilot = await startServer(
      ctx,
      PILOT_MAIN,
      ['--mcp-address', `127.0.0.1:${mcpPort}`, '--grpc-port', '0', '--http-port', '0'].concat([
        '--monitoring-port',
        '0',
        '--host',
        '127.0.0.1',
      ]),
      'pilot listening',
      60_000,
      'pilot',
    );
    await mcpSynced(mcp, 60_000);
    await pilotReady(Number(pilot.ready.monitoringPort), 60_000);
  } catch (err) {
    await pilot?.stop();
    mcp.close();
    server.forceShutdown();
    throw err;
  }
  const proc: ServerProcess = pilot;
  const first = serviceRef(spec, 0);
  const sizesTimeout = 120_000;
  return {
    label: 'pilot',
    address: `127.0.0.1:${proc.ready.grpcPort}`,
    pid: proc.pid,
    routeChange(n) {
      config.put(virtualService(first, n + 11));
      config.publish(mcp);
    },
    endpointChange(n) {
      config.put(endpoints(first, spec.podsPerService, n + 1));
      config.publish(mcp);
    },
    noopChange: () => config.publish(mcp),
    nextPush: () => proc.next('push done', sizesTimeout),
    async heapBytes() {
      return (await metric(Number(proc.ready.monitoringPort), 'nodejs_heap_size_used_bytes')) ?? Number.NaN;
    },
    async externalBytes() {
      return (await metric(Number(proc.ready.monitoringPort), 'nodejs_external_memory_bytes')) ?? Number.NaN;
    },
    async stop() {
      await proc.stop();
      mcp.close();
      server.forceShutdown();
    },
  };
}
