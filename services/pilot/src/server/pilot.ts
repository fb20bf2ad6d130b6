// Pilot: MCP sink -> ConfigStore -> debounced pushes -> per-config-key snapshots -> xDS over gRPC.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { type Bus, connectBus, Subjects, type XdsNackEvent, type XdsRejectedEvent } from '@keel/bus';
import { createMcpSink, type McpUpdate } from '@keel/mcp';
import { certDirFiles, type MtlsServer, mtlsChannel, mtlsServerCredentials } from '@keel/pki';
import { shortTypeName } from '@keel/proto';
import {
  capText,
  createMonitoringServer,
  type Logger,
  type MonitoringServer,
  newRegistry,
} from '@keel/runtime';
import { createXdsServer, type NodeInfo, SnapshotCache, type StreamInfo } from '@keel/xds';
import type { EnvoyRuleRejection } from '../generate/index.js';
import { DegradationReporter } from '../model/client.js';
import { buildPushContext } from '../model/push-context.js';
import { InternTable } from '../model/push-memo.js';
import { type NextContext, nextPushContext } from '../push/context.js';
import { createPushDebouncer } from '../push/debounce.js';
import { ProxyPusher, type PushStatus } from '../push/pusher.js';
import { ConfigStore, meshViewOf, type PushRequest, pilotCollections } from './config-store.js';
import { configDumpReply, type DebugContext, proxyStatuses, registerDebugRoutes } from './debug.js';
import { pilotMetrics } from './metrics.js';

export interface PilotOptions {
  /** Galley's MCP `host:port`. */
  mcpAddress: string;
  /** Longest jittered MCP reconnect delay (default 2 s). */
  mcpReconnectMaxMs?: number;
  /** Largest MCP response accepted (default 64 MiB). */
  mcpMaxMessageBytes?: number;
  /** Listen address for every port (default 0.0.0.0). */
  host?: string;
  /** xDS gRPC port (15010); 0 picks a free one. */
  grpcPort: number;
  /** mTLS xDS (15011) with Citadel-issued certificates from `certDir`; clients need a mesh SPIFFE id. */
  secure?: { port: number; certDir: string; trustDomain: string };
  /** Galley's MCP over mTLS: the `certDir` files, Galley checked by SPIFFE id. */
  mcpTls?: { certDir: string; galleyIdentity: string };
  /** Debug HTTP port (8080). */
  httpPort: number;
  /** Monitoring port (15014): /metrics and the same debug routes. */
  monitoringPort: number;
  /** Kubernetes DNS suffix (cluster.local). */
  domain?: string;
  /** NATS URL; NACK events and keel.pilot.status are off without it. */
  natsUrl?: string;
  /** PILOT_DEBOUNCE_AFTER (100 ms). */
  debounceAfterMs?: number;
  /** PILOT_DEBOUNCE_MAX (10 s). */
  debounceMaxMs?: number;
  /** PILOT_PUSH_THROTTLE (100): proxies a push has responses in flight to at once. */
  pushThrottle?: number;
  /** A response that does not drain within this closes its stream (5000). */
  sendTimeoutMs?: number;
  logger: Logger;
  /** This replica's id in events and status replies (default hostname-pid). */
  podName?: string;
  version?: string;
}

export interface PilotPorts {
  grpcPort: number;
  /** Bound only with `secure`. */
  secureGrpcPort?: number;
  httpPort: number;
  monitoringPort: number;
}

export interface Pilot {
  start(): Promise<PilotPorts>;
  /** Closes streams, the MCP sink, the servers and the bus connection. */
  stop(): Promise<void>;
  /** MCP synced and the first PushContext built. */
  ready(): boolean;
  /**
   * `push` (PushStatus), `nack` (XdsNackEvent), `ack` and `response` ({node, typeUrl, version, nonce}),
   * `ready`, `invalid-node` ({node, error}).
   */
  events: EventEmitter;
}

/** Parts reported one by one (log line and NATS event) per build; the rest are counted. */
const MAX_REJECTION_REPORTS = 20;
const emptyPush = () => buildPushContext({ version: '', byKind: new Map(), mesh: meshViewOf() });

function bindGrpc(
  server: grpc.Server,
  address: string,
  credentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, credentials, (e, port) => (e ? reject(e) : resolve(port))),
  );
}

/** Wires a Pilot; nothing listens until `start`. */
export function createPilot(options: PilotOptions): Pilot {
  const log = options.logger;
  const version = options.version ?? process.env.KEEL_VERSION ?? '0.1.0';
  const pilotId = options.podName ?? `${hostname()}-${process.pid}`;
  const domain = options.domain ?? 'cluster.local';
  const host = options.host ?? '0.0.0.0';
  const events = new EventEmitter();
  const registry = newRegistry('pilot', version);
  const cache = new SnapshotCache();
  let xdsStats = () => 0;
  const metrics = pilotMetrics(registry, version, () => xdsStats());
  const store = new ConfigStore(domain);
  const pusher = new ProxyPusher({
    cache,
    logger: log,
    metrics,
    throttle: options.pushThrottle ?? 100,
    drained: (nodeId) => xds.drained(nodeId),
    superseding: () => xds.supersede(),
    onRejected: (key, rejected) => reportRejected(key, rejected),
    onDegraded: (list) => degradations.observe(list),
  });
  const degradations = new DegradationReporter((d) => {
    metrics.clientDegraded.inc({ client: d.client, type: d.type, feature: d.feature });
    log.warn(
      {
        client: d.client,
        type: d.type,
        resource: d.resource,
        feature: d.feature,
        servedAs: d.servedAs,
        config: d.config,
      },
      `${d.config ?? 'config'}: ${d.feature} is not supported by ${d.client} clients; ${d.type} ${d.resource} serves it as ${d.servedAs}`,
    );
  });
  let firstPush = false;
  let stopped = false;
  let bus: Bus | undefined;
  let unreply: (() => void) | undefined;
  let mtls: MtlsServer | undefined;

  /** Generator output interned from push to push (rotated by the pusher). */
  const memo = new InternTable();
  /** False after a failed push-context build: the next push builds a full one. */
  let contextFresh = true;

  async function runPush(req: PushRequest): Promise<void> {
    const waitedMs = Date.now() - req.start;
    const contextStart = performance.now();
    let push: ReturnType<typeof buildPushContext>;
    let reused: NextContext['reused'] = 'none';
    try {
      // An endpoints-only push reuses the last context but the changed hosts' endpoints; a push of config
      // the registry never reads reuses the last registry; neither after a failed context build.
      const next = nextPushContext(pusher.pushContext(), store.snapshot(), req, {
        domain,
        memo,
        prevFresh: contextFresh,
      });
      push = next.push;
      reused = next.reused;
      contextFresh = true;
    } catch (e) {
      contextFresh = false;
      metrics.pushContextErrors.inc();
      log.error({ err: e }, 'push context build failed; previous config kept');
      return;
    }
    metrics.services.set(push.services.length);
    metrics.virtualServices.set(push.configs('VirtualService').length);
    const contextMs = performance.now() - contextStart;
    const [frames0, pooled0] = [xds.framesEncoded(), xds.framesPooled()];
    const status: PushStatus = await pusher.push(push, req);
    const { edsHosts, ...brief } = status;
    log.info(
      {
        ...brief,
        edsHosts: edsHosts.length,
        waitedMs,
        contextMs: Math.round(contextMs),
        reused,
        framed: xds.framesEncoded() - frames0,
        framedPooled: xds.framesPooled() - pooled0,
      },
      'push done',
    );
    const wasReady = ready();
    firstPush = true;
    events.emit('push', status);
    if (!wasReady && ready()) events.emit('ready');
  }
  const debouncer = createPushDebouncer({
    afterMs: options.debounceAfterMs ?? 100,
    maxMs: options.debounceMaxMs ?? 10_000,
    run: runPush,
    logger: log,
  });
  const fullPush = (): PushRequest => ({
    full: true,
    kinds: new Set(),
    edsHosts: new Set(),
    start: Date.now(),
  });

  const mcpClient = options.mcpTls
    ? mtlsChannel(certDirFiles(options.mcpTls.certDir), [options.mcpTls.galleyIdentity], log)
    : undefined;
  const sink = createMcpSink({
    address: options.mcpAddress,
    ...(mcpClient ? { credentials: mcpClient.credentials } : {}),
    ...(options.mcpReconnectMaxMs !== undefined ? { maxReconnectDelayMs: options.mcpReconnectMaxMs } : {}),
    ...(options.mcpMaxMessageBytes !== undefined ? { maxMessageBytes: options.mcpMaxMessageBytes } : {}),
    collections: pilotCollections(),
    sinkId: pilotId,
    logger: log,
    registry,
    component: 'pilot',
    apply(update: McpUpdate) {
      const r = store.apply(update);
      if (!r.ok) throw new Error(r.errors);
      metrics.inboundUpdates.inc({ type: r.value.type });
      if (sink.synced()) debouncer.trigger(r.value.request);
    },
  });
  sink.on('synced', () => debouncer.triggerNow(fullPush()));
  sink.on('connected', () => log.info({ address: options.mcpAddress }, 'MCP source connected'));
  sink.on('disconnected', () => log.warn({ address: options.mcpAddress }, 'MCP source disconnected'));
  const ready = () => sink.synced() && firstPush;

  /** Log lines and events per build are capped; the metric counts every part. */
  function reportRejected(key: string, rejected: readonly EnvoyRuleRejection[]): void {
    const time = new Date().toISOString();
    for (const [i, r] of rejected.entries()) {
      metrics.envoyRulesRejected.inc({ type: r.type, action: r.action });
      if (i >= MAX_REJECTION_REPORTS) continue;
      log.warn(
        { proxyKey: key, ...r },
        `${r.config}: ${r.type} ${r.resource} ${r.unit} ${r.action}, Envoy would reject it: ${r.reason}`,
      );
      const event: XdsRejectedEvent = { proxyKey: key, ...r, pilot: pilotId, time };
      bus?.publish(Subjects.xdsRejected, event);
    }
    if (rejected.length > MAX_REJECTION_REPORTS)
      log.warn(
        { proxyKey: key, more: rejected.length - MAX_REJECTION_REPORTS },
        'more parts repaired or left out',
      );
  }

  function onNack(stream: StreamInfo, typeUrl: string, nack: { nonce: string; error: string }): void {
    const short = shortTypeName(typeUrl) as 'cds' | 'eds' | 'lds' | 'rds';
    metrics.totalRejects.inc();
    metrics.rejects[short]?.set({ node: stream.node.id, err: nack.error.slice(0, 200) }, 1);
    const event: XdsNackEvent = {
      proxy: stream.node.id,
      typeUrl,
      nonce: nack.nonce,
      error: nack.error,
      pilot: pilotId,
      time: new Date().toISOString(),
    };
    events.emit('nack', event);
    bus?.publish(Subjects.xdsNack, event);
  }

  const xds = createXdsServer({
    cache,
    logger: log,
    sendTimeoutMs: options.sendTimeoutMs ?? 5000,
    admit: (node) => checkNode(node),
    callbacks: {
      onStreamOpen: (s) => pusher.connect(s.node),
      onStreamClose: (s) => pusher.disconnect(s.node.id),
      onNack,
      onAck: (stream, typeUrl, ackVersion, nonce) =>
        events.emit('ack', { node: stream.node.id, typeUrl, version: ackVersion, nonce }),
      onResponse(stream, typeUrl, sentVersion, nonce) {
        events.emit('response', { node: stream.node.id, typeUrl, version: sentVersion, nonce });
        const type = shortTypeName(typeUrl);
        metrics.pushes.inc({ type });
        const setAt = pusher.proxies.get(stream.node.id)?.setAt;
        if (setAt !== undefined) metrics.pushTime.observe({ type }, (performance.now() - setAt) / 1000);
      },
    },
  });
  xdsStats = () => xds.stats().writeTimeouts;

  function checkNode(node: NodeInfo): string | undefined {
    const parsed = pusher.parseNode(node, pusher.pushContext() ?? emptyPush());
    if (parsed.ok) return undefined;
    metrics.invalidNodes.inc();
    log.warn({ node: node.id, error: parsed.errors }, 'xds stream refused: invalid node');
    events.emit('invalid-node', { node: node.id, error: parsed.errors });
    // The status message travels in a trailer (8 KB limit on most clients): cap the echoed id.
    return capText(parsed.errors);
  }

  const grpcServer = new grpc.Server({ 'grpc.max_concurrent_streams': 100000 });
  xds.addTo(grpcServer);
  const debugCtx: DebugContext = {
    version,
    xds,
    cache,
    pusher,
    store,
    ready,
    triggerPush: () => debouncer.triggerNow(fullPush()),
  };
  const httpServer = (port: number, what: string): MonitoringServer =>
    createMonitoringServer({
      port,
      host,
      registry,
      version,
      ready,
      logger: log.child({ server: what }),
      routes: (app) => registerDebugRoutes(app, debugCtx, false),
    });
  const monitoring = httpServer(options.monitoringPort, 'monitoring');
  const http = httpServer(options.httpPort, 'http');

  function connectNats(url: string): void {
    connectBus({ url, name: `pilot-${pilotId}`, logger: log })
      .then((b) => {
        if (stopped) return void b.close();
        bus = b;
        const offStatus = b.reply(Subjects.pilotStatus, () => ({
          pilot: pilotId,
          proxies: proxyStatuses(debugCtx),
        }));
        const offDump = b.reply(Subjects.pilotConfigDump, (req: unknown) =>
          configDumpReply(debugCtx, pilotId, req),
        );
        unreply = () => {
          offStatus();
          offDump();
        };
        log.info({ url }, 'NATS connected');
      })
      .catch((e) => log.error({ err: e }, 'NATS connection failed'));
  }

  return {
    events,
    ready,
    async start() {
      const grpcPort = await bindGrpc(grpcServer, `${host}:${options.grpcPort}`);
      let secureGrpcPort: number | undefined;
      if (options.secure) {
        const { port, certDir, trustDomain } = options.secure;
        mtls = await mtlsServerCredentials(certDirFiles(certDir), { trustDomain }, log);
        secureGrpcPort = await bindGrpc(grpcServer, `${host}:${port}`, mtls.credentials);
      }
      const monitoringPort = (await monitoring.start()).port;
      const httpPort = (await http.start()).port;
      await mcpClient?.start();
      sink.start();
      if (options.natsUrl) connectNats(options.natsUrl);
      return { grpcPort, httpPort, monitoringPort, ...(secureGrpcPort ? { secureGrpcPort } : {}) };
    },
    async stop() {
      stopped = true;
      await debouncer.stop();
      xds.close();
      await sink.stop();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          grpcServer.forceShutdown();
          resolve();
        }, 2000);
        grpcServer.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await Promise.all([monitoring.stop(), http.stop()]);
      mtls?.close();
      mcpClient?.close();
      unreply?.();
      await bus?.close();
    },
  };
}
