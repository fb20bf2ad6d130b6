// Connected proxies and their snapshots: full and EDS-only pushes, one build per config key, immediate
// builds for new connections. Runs on the event loop; `push` is never called concurrently.
import { setImmediate as yieldLoop } from 'node:timers/promises';
import type { Logger, Result } from '@keel/runtime';
import type { NodeInfo, Snapshot, SnapshotCache } from '@keel/xds';
import {
  type EnvoyRuleRejection,
  newEnvoyFilterStats,
  newListenerStats,
  splitsByScope,
} from '../generate/index.js';
import type { Degradation } from '../model/client.js';
import { type NodeInput, parseNode } from '../model/proxy.js';
import type { Proxy as MeshProxy, PushContext, Workload } from '../model/types.js';
import type { PushRequest } from '../server/config-store.js';
import type { PilotMetrics } from '../server/metrics.js';
import {
  type Build,
  configKey,
  endpointsBuild,
  fullBuild,
  ownIdentity,
  type ProxyBuild,
  proxyBuild,
  proxyRebase,
  type ScopeBuild,
  sameOutboundShape,
  scopeBuild,
  scopeEndpointsBuild,
  sharedKey,
  VirtualHostEncodings,
} from './builds.js';
import { ownInputs, routesOnly } from './invalidation.js';

/** One connected node (all its streams). */
export interface ConnectedProxy {
  nodeId: string;
  node: NodeInfo;
  streams: number;
  connectedAt: string;
  proxy?: MeshProxy;
  key?: string;
  /** Its own build when its config splits by scope (shared part + own inbound part). */
  build?: ProxyBuild;
  /** performance.now() when its current snapshot was set (for push-time metrics). */
  setAt?: number;
  /** The PushContext its current snapshot was built from. */
  builtFor?: PushContext;
}

/** A drain of new connections builds for at most this long before yielding to I/O (responses go out meanwhile). */
const CONNECT_SLICE_MS = 20;

/** Scopes a cold Pilot builds before its first push is done (see `prewarm`), and injected pods it looks at. */
const PREWARM_SCOPES = 32;
const PREWARM_PODS = 20_000;
/** Set by the sidecar injector on the pods it injected (services/sidecar-injector). */
const INJECTED_ANNOTATION = 'sidecar.istio.io/status';

/**
 * The node pilot-agent sends for an injected pod (services/pilot-agent/src/node.ts): id
 * `sidecar~ip~pod.ns~ns.svc.domain`, the pod's labels, and SDS (Keel's agent always serves it).
 */
export function podNode(w: Workload, domain: string): NodeInfo {
  return {
    id: `sidecar~${w.ip}~${w.name}.${w.namespace}~${w.namespace}.svc.${domain}`,
    cluster: '',
    metadata: {
      NAMESPACE: w.namespace,
      INSTANCE_IPS: w.ip,
      NAME: w.name,
      SERVICE_ACCOUNT: w.serviceAccount,
      LABELS: w.labels,
      SDS: 'true',
    },
  };
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
  /**
   * PILOT_PUSH_THROTTLE: proxies a push has responses in flight to at once (with `drained`); without
   * `drained`, snapshots set between event-loop yields.
   */
  throttle: number;
  /** Resolves once a node's responses written so far have flushed (XdsServer.drained). */
  drained?: (nodeId: string) => Promise<void>;
  /** Called as a push starts, before its builds: the server may reuse what the last push's replies hold. */
  superseding?: () => void;
  /** Called when a build's repaired/left-out parts (Envoy-rules check) differ from the last build of its key. */
  onRejected?: (key: string, rejected: readonly EnvoyRuleRejection[]) => void;
  /** Called with what a full build served a proxyless client in a weaker form (model/client.ts). */
  onDegraded?: (degraded: readonly Degradation[]) => void;
}

/** Where one push puts its builds, and what an EDS-only push may start from. */
interface BuildTarget {
  builds: Map<string, Build>;
  scopes: Map<string, ScopeBuild>;
  /** The previous push's scope builds (during a push only): scope rebuilds reuse their unchanged resources. */
  previous?: ReadonlyMap<string, ScopeBuild>;
  /** Full push with every inbound input as in the last one: own parts may be kept when their scope kept its shape. */
  inboundStable: boolean;
  /** Per scope key: whether proxies' previous own parts still fit the new scope build. */
  fits: Map<string, boolean>;
  /** Full push where only kinds clusters and endpoints never read changed: scopes keep theirs. */
  keepOutbound: boolean;
  eds?: {
    builds: ReadonlyMap<string, Build>;
    scopes: ReadonlyMap<string, ScopeBuild>;
    hosts: ReadonlySet<string>;
  };
}

const newTarget = (stable: boolean, keepOutbound = false): BuildTarget => ({
  builds: new Map(),
  scopes: new Map(),
  inboundStable: stable,
  fits: new Map(),
  keepOutbound,
});

const newStats = () => ({
  listeners: newListenerStats(),
  envoyFilters: newEnvoyFilterStats(),
  rejected: [] as EnvoyRuleRejection[],
  degraded: [] as Degradation[],
});

const toInput = (node: NodeInfo): NodeInput => ({
  id: node.id,
  cluster: node.cluster,
  metadata: node.metadata,
  ...(node.locality ? { locality: node.locality } : {}),
  ...(node.user_agent_name ? { user_agent_name: node.user_agent_name } : {}),
  ...(node.user_agent_version ? { user_agent_version: node.user_agent_version } : {}),
  ...(node.client_features ? { client_features: node.client_features } : {}),
});

/** True when `a` and `b` share the registry indexes parseNode reads. */
const sameRegistry = (a: PushContext, b: PushContext): boolean =>
  a === b ||
  (a.services === b.services &&
    a.endpointsByHost === b.endpointsByHost &&
    a.workloadsByIp === b.workloadsByIp);

/** The set of connected proxies and the builds their snapshots come from. */
export class ProxyPusher {
  readonly proxies = new Map<string, ConnectedProxy>();
  private target: BuildTarget = newTarget(false);
  private current?: PushContext;
  /** `ownInputs` of the last push. */
  private inputs?: string;
  private last?: PushStatus;
  private readonly parsed = new WeakMap<NodeInfo, { push: PushContext; result: Result<MeshProxy, string> }>();
  private readonly vhosts = new VirtualHostEncodings();
  /** No full push has run yet (the first one prewarms, see `prewarm`). */
  private cold = true;
  /** New connections waiting for their first build (see `connect`). */
  private arriving: ConnectedProxy[] = [];

  constructor(private readonly opts: ProxyPusherOptions) {}

  /** The PushContext of the last push, if any. */
  pushContext(): PushContext | undefined {
    return this.current;
  }

  status(): PushStatus | undefined {
    return this.last;
  }

  /** The scope builds of the last push (and of connections since), by scope key. */
  scopes(): ReadonlyMap<string, ScopeBuild> {
    return this.target.scopes;
  }

  /**
   * A stream opened for `node`; the first stream of a node gets a snapshot built soon (its scope's shared part
   * reused). Builds for new connections run in time slices, so a connect storm's first responses are written
   * while later proxies are still being built; the streams' watches park until then.
   */
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
    if (!this.current) return;
    this.arriving.push(entry);
    if (this.arriving.length === 1) setImmediate(() => this.buildArrivals());
  }

  /** Builds snapshots for queued new connections for one time slice; reschedules itself while any are left. */
  private buildArrivals(): void {
    const until = performance.now() + CONNECT_SLICE_MS;
    let done = 0;
    while (done < this.arriving.length && performance.now() < until) {
      const entry = this.arriving[done++]!;
      const push = this.current;
      if (!push || this.proxies.get(entry.nodeId) !== entry || entry.builtFor === push) continue;
      const snapshot = this.buildFor(entry, push, this.target);
      if (snapshot) this.publish(entry, snapshot, undefined);
    }
    this.arriving.splice(0, done);
    if (this.arriving.length > 0) setImmediate(() => this.buildArrivals());
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

  /**
   * Publishes `push` to every connected proxy: a full rebuild, or only endpoints of `req.edsHosts`.
   * Each proxy's snapshot is set as soon as it is built, with at most `throttle` proxies' writes in flight.
   */
  async push(push: PushContext, req: PushRequest): Promise<PushStatus> {
    const started = performance.now();
    const previous = this.target;
    const inputs = ownInputs(push);
    const target: BuildTarget = newTarget(req.full && inputs === this.inputs, routesOnly(req));
    this.inputs = inputs;
    // Generations turn over on full pushes only: an EDS-only push builds no routes, and turning over on it
    // would drop what the next full push is about to ask for again.
    if (req.full) {
      this.vhosts.rotate();
      push.memo?.rotate();
    }
    target.previous = previous.scopes;
    if (!req.full) target.eds = { builds: previous.builds, scopes: previous.scopes, hosts: req.edsHosts };
    this.current = push;
    this.target = target;
    this.opts.superseding?.();
    if (req.full && this.cold) {
      this.cold = false;
      await this.prewarm(push, target);
    }
    let published = 0;
    // Proxies grouped by their last key: a scope's proxies are published right after its build, and the
    // loop yields at each group's end too, so their responses are written while later scopes build.
    const byKey = (a: ConnectedProxy, b: ConnectedProxy) =>
      (a.key ?? '') < (b.key ?? '') ? -1 : (a.key ?? '') > (b.key ?? '') ? 1 : 0;
    let group: string | undefined;
    // Proxies with responses still being written (Istio's push throttle): at most `throttle` at once. The
    // next proxy's build runs before waiting for a slot, so building overlaps the writes in flight.
    const { drained, throttle } = this.opts;
    let inFlight = 0;
    let slotFreed: (() => void) | undefined;
    const settled = () => {
      inFlight -= 1;
      const wake = slotFreed;
      slotFreed = undefined;
      wake?.();
    };
    for (const entry of [...this.proxies.values()].sort(byKey)) {
      if (this.proxies.get(entry.nodeId) !== entry || entry.builtFor === push) continue;
      if (published > 0 && entry.key !== group) await yieldLoop();
      group = entry.key;
      const snapshot = this.buildFor(entry, push, target);
      if (!snapshot) continue;
      while (drained && inFlight >= throttle) await new Promise<void>((resolve) => (slotFreed = resolve));
      this.publish(entry, snapshot, req.start);
      published += 1;
      if (drained) {
        inFlight += 1;
        drained(entry.nodeId).then(settled, settled);
      } else if (published % throttle === 0) await yieldLoop();
    }
    // The previous push's builds are not held past this one (new connections build from this push's).
    target.previous = undefined;
    target.eds = undefined;
    const builds = [...target.builds.values(), ...target.scopes.values()];
    this.last = {
      version: push.version,
      time: new Date().toISOString(),
      durationMs: performance.now() - started,
      full: req.full,
      proxies: published,
      builds: builds.length,
      shared: published - builds.length,
      edsOnly:
        [...target.builds.keys()].filter((k) => previous.builds.has(k)).length +
        [...target.scopes.keys()].filter((k) => !req.full && previous.scopes.has(k)).length,
      inconsistent: builds.filter((b) => b.missing.length > 0).length,
      edsHosts: [...req.edsHosts].sort(),
      kinds: [...req.kinds].sort(),
    };
    return this.last;
  }

  /**
   * parseNode of `node` against `push`, memoized per node object: valid for every push sharing the registry
   * parseNode reads (services, endpoints, workloads), as a push of VirtualServices only does.
   */
  parseNode(node: NodeInfo, push: PushContext): Result<MeshProxy, string> {
    const hit = this.parsed.get(node);
    if (hit && sameRegistry(hit.push, push)) return hit.result;
    const result = parseNode(toInput(node), push);
    this.parsed.set(node, { push, result });
    return result;
  }

  private parse(entry: ConnectedProxy, push: PushContext): MeshProxy | undefined {
    const parsed = this.parseNode(entry.node, push);
    if (!parsed.ok) {
      this.opts.logger.warn({ node: entry.nodeId, error: parsed.errors }, 'node no longer parses');
      return undefined;
    }
    entry.proxy = parsed.value;
    return parsed.value;
  }

  private reportMissing(key: string, missing: string[]): void {
    if (missing.length === 0) return;
    this.opts.metrics.inconsistent.inc();
    this.opts.logger.error(
      { key, missing },
      'inconsistent snapshot not sent: its proxies keep their last good config',
    );
  }

  /** The proxy's snapshot for `push`: split (shared scope part + own part) when it can be, else a per-key build. */
  private buildFor(entry: ConnectedProxy, push: PushContext, target: BuildTarget): Snapshot | undefined {
    entry.builtFor = push;
    const proxy = this.parse(entry, push);
    if (!proxy) return undefined;
    if (!splitsByScope(push, proxy)) {
      entry.build = undefined;
      const build = this.keyBuild(entry, proxy, push, target);
      // Not published: the proxy keeps its last good snapshot (counted and logged once per build).
      return build.missing.length > 0 ? undefined : build.snapshot;
    }
    const key = sharedKey(push, proxy);
    entry.key = key;
    const scope = this.scopeFor(key, proxy, push, target);
    const prevScope = target.previous?.get(key);
    if (scope.missing.length > 0) {
      // Not published (see keyBuild above); the next push builds this proxy's own part afresh.
      entry.build = undefined;
      return undefined;
    }
    const prev = entry.build;
    const reuse =
      target.fits.get(key) === true &&
      prevScope !== undefined &&
      prev?.scope === prevScope &&
      prev.identity === ownIdentity(proxy);
    if (reuse) entry.build = proxyRebase(prev!, scope);
    else {
      const stats = newStats();
      entry.build = proxyBuild(scope, push, proxy, stats);
      this.reportRejected(`${key}|${entry.nodeId}`, stats.rejected);
    }
    return entry.build.snapshot;
  }

  /** `target`'s build of scope `key`, made (from the previous push's when there is one) if it has none yet. */
  private scopeFor(key: string, proxy: MeshProxy, push: PushContext, target: BuildTarget): ScopeBuild {
    const built = target.scopes.get(key);
    if (built) return built;
    const prevScope = target.previous?.get(key);
    const stats = newStats();
    const scope =
      prevScope && target.eds
        ? scopeEndpointsBuild(prevScope, push, proxy, target.eds.hosts)
        : scopeBuild(push, proxy, key, {
            stats,
            prev: prevScope,
            keepOutbound: target.keepOutbound,
            vhosts: this.vhosts,
          });
    if (!(prevScope && target.eds)) this.reportRejected(key, stats.rejected);
    this.reportMissing(key, scope.missing);
    target.scopes.set(key, scope);
    const fits = prevScope !== undefined && (target.eds !== undefined || target.inboundStable);
    target.fits.set(key, fits && sameOutboundShape(scope, prevScope!));
    return scope;
  }

  /**
   * Cold start (the first full push): builds the shared scope parts its injected pods'
   * sidecars will ask for, the scopes with most pods first, up to PREWARM_SCOPES. Each pod's node is the one
   * pilot-agent sends for it (`podNode`). Pilot reports ready only after its first push, so sidecars that
   * reconnect at once after a restart find their scopes built and only their own parts are made on connect.
   */
  private async prewarm(push: PushContext, target: BuildTarget): Promise<void> {
    const scopes = new Map<string, { proxy: MeshProxy; pods: number }>();
    let scanned = 0;
    for (const w of push.workloadsByIp.values()) {
      if (w.annotations[INJECTED_ANNOTATION] === undefined) continue;
      if (++scanned > PREWARM_PODS) break;
      const parsed = parseNode(toInput(podNode(w, push.domain)), push);
      if (!parsed.ok || !splitsByScope(push, parsed.value)) continue;
      const key = sharedKey(push, parsed.value);
      const seen = scopes.get(key);
      if (seen) seen.pods += 1;
      else scopes.set(key, { proxy: parsed.value, pods: 1 });
    }
    const most = [...scopes].sort((a, b) => b[1].pods - a[1].pods).slice(0, PREWARM_SCOPES);
    for (const [key, { proxy }] of most) {
      // One scope at a time between turns of the event loop (health probes and MCP stay answered).
      await yieldLoop();
      this.scopeFor(key, proxy, push, target);
    }
  }

  /** The build for a proxy's config key from `target`, else an EDS rebuild of the previous one, else a full build. */
  private keyBuild(entry: ConnectedProxy, proxy: MeshProxy, push: PushContext, target: BuildTarget): Build {
    const key = configKey(push, proxy);
    entry.key = key;
    let build = target.builds.get(key);
    if (build) return build;
    const prev = target.eds?.builds.get(key);
    const stats = newStats();
    build = prev
      ? endpointsBuild(prev, push, proxy, target.eds!.hosts)
      : fullBuild(push, proxy, key, stats, this.vhosts);
    if (!prev) this.reportRejected(key, stats.rejected);
    if (!prev && stats.degraded.length > 0) this.opts.onDegraded?.(stats.degraded);
    this.reportMissing(key, build.missing);
    target.builds.set(key, build);
    return build;
  }

  /** Last reported rejections per build key (a repeated build reports nothing new). */
  private readonly rejectedSeen = new Map<string, string>();

  private reportRejected(key: string, rejected: readonly EnvoyRuleRejection[]): void {
    const sig = rejected.length === 0 ? '' : JSON.stringify(rejected);
    if ((this.rejectedSeen.get(key) ?? '') === sig) return;
    if (sig === '') this.rejectedSeen.delete(key);
    else {
      // Bounded: keys of departed proxies are forgotten oldest first.
      if (this.rejectedSeen.size >= 10_000) this.rejectedSeen.delete(this.rejectedSeen.keys().next().value!);
      this.rejectedSeen.set(key, sig);
      this.opts.onRejected?.(key, rejected);
    }
  }

  /** Sets the node's snapshot; `since` (first change of the push, ms epoch) feeds the convergence histogram. */
  private publish(entry: ConnectedProxy, snapshot: Snapshot, since: number | undefined): void {
    if (this.proxies.get(entry.nodeId) !== entry) return;
    entry.setAt = performance.now();
    this.opts.cache.setSnapshot(entry.nodeId, snapshot);
    if (since !== undefined) this.opts.metrics.convergence.observe(Math.max(0, Date.now() - since) / 1000);
  }
}
