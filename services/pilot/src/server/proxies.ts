// Connected proxies and their snapshots: full and EDS-only pushes, one build per config key, immediate
// builds for new connections. Runs on the event loop; `push` is never called concurrently.
import { setImmediate as yieldLoop } from 'node:timers/promises';
import type { Logger } from '@keel/runtime';
import type { NodeInfo, SnapshotCache } from '@keel/xds';
import { newEnvoyFilterStats, newListenerStats } from '../generate/index.js';
import { type NodeInput, parseNode } from '../model/proxy.js';
import type { Proxy as MeshProxy, PushContext } from '../model/types.js';
import { type Build, configKey, endpointsBuild, fullBuild } from './builds.js';
import type { PushRequest } from './config-store.js';
import type { PilotMetrics } from './metrics.js';

/** One connected node (all its streams). */
export interface ConnectedProxy {
  nodeId: string;
  node: NodeInfo;
  streams: number;
  connectedAt: string;
  proxy?: MeshProxy;
  key?: string;
  /** performance.now() when its current snapshot was set (for push-time metrics). */
  setAt?: number;
}

/** Status of the last push, for /debug/push_status. */
export interface PushStatus {
  version: string;
  time: string;
  durationMs: number;
  full: boolean;
  proxies: number;
  builds: number;
  /** Proxies that reused another proxy's build in this push. */
  shared: number;
  edsOnly: number;
  inconsistent: number;
  edsHosts: string[];
  kinds: string[];
}

export interface ProxyPusherOptions {
  cache: SnapshotCache;
  logger: Logger;
  metrics: PilotMetrics;
  /** setSnapshot calls between event-loop yields (PILOT_PUSH_THROTTLE). */
  throttle: number;
}

const toInput = (node: NodeInfo): NodeInput => ({
  id: node.id,
  cluster: node.cluster,
  metadata: node.metadata,
  ...(node.locality ? { locality: node.locality } : {}),
});

/** The set of connected proxies and the builds their snapshots come from. */
export class ProxyPusher {
  readonly proxies = new Map<string, ConnectedProxy>();
  private builds = new Map<string, Build>();
  private current?: PushContext;
  private last?: PushStatus;

  constructor(private readonly opts: ProxyPusherOptions) {}

  /** The PushContext of the last push, if any. */
  pushContext(): PushContext | undefined {
    return this.current;
  }

  status(): PushStatus | undefined {
    return this.last;
  }

  /** A stream opened for `node`; the first stream of a node gets a snapshot built at once. */
  connect(node: NodeInfo): void {
    const existing = this.proxies.get(node.id);
    if (existing) {
      existing.streams += 1;
      return;
    }
    const entry: ConnectedProxy = {
      nodeId: node.id,
      node,
      streams: 1,
      connectedAt: new Date().toISOString(),
    };
    this.proxies.set(node.id, entry);
    this.opts.metrics.xdsClients.set(this.proxies.size);
    const push = this.current;
    if (!push) return;
    const build = this.buildFor(entry, push, this.builds, undefined);
    if (build) this.publish(entry, build, undefined);
  }

  /** A stream closed; the last stream of a node forgets its snapshot. */
  disconnect(nodeId: string): void {
    const entry = this.proxies.get(nodeId);
    if (!entry) return;
    entry.streams -= 1;
    if (entry.streams > 0) return;
    this.proxies.delete(nodeId);
    this.opts.cache.clearSnapshot(nodeId);
    this.opts.metrics.xdsClients.set(this.proxies.size);
  }

  /** Publishes `push` to every connected proxy: a full rebuild, or only endpoints of `req.edsHosts`. */
  async push(push: PushContext, req: PushRequest): Promise<PushStatus> {
    const started = performance.now();
    const previous = req.full ? new Map<string, Build>() : this.builds;
    const next = new Map<string, Build>();
    this.current = push;
    this.builds = next;
    const work: Array<[ConnectedProxy, Build]> = [];
    const eds = req.full ? undefined : { previous, hosts: req.edsHosts };
    for (const entry of this.proxies.values()) {
      const build = this.buildFor(entry, push, next, eds);
      if (build) work.push([entry, build]);
    }
    for (let i = 0; i < work.length; i += this.opts.throttle) {
      for (const [entry, build] of work.slice(i, i + this.opts.throttle))
        this.publish(entry, build, req.start);
      if (i + this.opts.throttle < work.length) await yieldLoop();
    }
    const builds = [...next.values()];
    this.last = {
      version: push.version,
      time: new Date().toISOString(),
      durationMs: performance.now() - started,
      full: req.full,
      proxies: work.length,
      builds: builds.length,
      shared: work.length - builds.length,
      edsOnly: builds.filter((b) => previous.has(b.key)).length,
      inconsistent: builds.filter((b) => b.missing.length > 0).length,
      edsHosts: [...req.edsHosts].sort(),
      kinds: [...req.kinds].sort(),
    };
    return this.last;
  }

  /** The build a proxy uses now, if it has one. */
  buildOf(nodeId: string): Build | undefined {
    const key = this.proxies.get(nodeId)?.key;
    return key === undefined ? undefined : this.builds.get(key);
  }

  private keyFor(entry: ConnectedProxy, push: PushContext): string | undefined {
    const parsed = parseNode(toInput(entry.node), push);
    if (!parsed.ok) {
      this.opts.logger.warn({ node: entry.nodeId, error: parsed.errors }, 'node no longer parses');
      return undefined;
    }
    entry.proxy = parsed.value;
    entry.key = configKey(push, parsed.value);
    return entry.key;
  }

  /** The build for a proxy's key from `into`, else an EDS rebuild of the previous one, else a full build. */
  private buildFor(
    entry: ConnectedProxy,
    push: PushContext,
    into: Map<string, Build>,
    eds: { previous: ReadonlyMap<string, Build>; hosts: ReadonlySet<string> } | undefined,
  ): Build | undefined {
    const key = this.keyFor(entry, push);
    if (key === undefined || !entry.proxy) return undefined;
    let build = into.get(key);
    if (build) return build;
    const prev = eds?.previous.get(key);
    if (prev) {
      build = endpointsBuild(prev, push, entry.proxy, eds!.hosts);
    } else {
      const stats = { listeners: newListenerStats(), envoyFilters: newEnvoyFilterStats() };
      build = fullBuild(push, entry.proxy, key, stats);
    }
    if (build.missing.length > 0) {
      this.opts.metrics.inconsistent.inc();
      this.opts.logger.error({ key, missing: build.missing }, 'inconsistent snapshot (served anyway)');
    }
    into.set(key, build);
    return build;
  }

  /** Sets the node's snapshot; `since` (first change of the push, ms epoch) feeds the convergence histogram. */
  private publish(entry: ConnectedProxy, build: Build, since: number | undefined): void {
    if (this.proxies.get(entry.nodeId) !== entry) return;
    entry.setAt = performance.now();
    this.opts.cache.setSnapshot(entry.nodeId, build.snapshot);
    if (since !== undefined) this.opts.metrics.convergence.observe(Math.max(0, Date.now() - since) / 1000);
  }
}
