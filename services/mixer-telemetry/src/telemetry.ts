// mixer-telemetry: MCP sink (Mixer config, pods, services) -> Runtime; access-log streams and
// Mixer Report -> bags -> Runtime; prometheus adapter on --metrics-port; self-metrics on monitoring.
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { type Bus, connectBus, Subjects } from '@keel/bus';
import { createMcpSink, type McpSink } from '@keel/mcp';
import { certDirFiles, type MtlsServer, mtlsChannel, mtlsServerCredentials } from '@keel/pki';
import { createMonitoringServer, type Logger, newRegistry } from '@keel/runtime';
import { jetstreamManager } from '@nats-io/jetstream';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { REPORT_ADAPTERS } from './adapters/index.js';
import { ACCESSLOG_STREAM } from './adapters/nats.js';
import { createSpanSink } from './adapters/tracespan.js';
import type { AdapterContext } from './adapters/types.js';
import { type AlsStats, addAccessLogService } from './als/server.js';
import type { Bag } from './bag.js';
import { cexlCompiler, manifestOf } from './config/cexl.js';
import type { ExpressionCompiler } from './config/expression.js';
import { type ConfigResource, mixerConfigOf } from './config/model.js';
import { configResource, mixerConfigCollections, telemetryCollections } from './config/source.js';
import { MeshIndex, PODS_COLLECTION, SERVICES_COLLECTION } from './mesh.js';
import { registerSelfMetrics } from './metrics.js';
import { PromStore } from './prom/store.js';
import { addMixerReportService } from './report.js';
import { buildRuntime, type ConfigError, Runtime } from './runtime.js';

export interface MixerTelemetryOptions {
  /** Galley's MCP `host:port`; without it only `staticConfig` is used. */
  mcpAddress?: string;
  /** Config used when there is no MCP address (and under MCP config otherwise). */
  staticConfig?: readonly ConfigResource[];
  host?: string;
  /** gRPC: AccessLogService and istio.mixer.v1.Mixer/Report (9091); 0 picks a free port. */
  grpcPort: number;
  /** mTLS gRPC (15004) with Citadel-issued certificates from `certDir`; clients need a mesh SPIFFE id. */
  secure?: { port: number; certDir: string; trustDomain: string };
  /** Galley's MCP over mTLS: the `certDir` files, Galley checked by SPIFFE id. */
  mcpTls?: { certDir: string; galleyIdentity: string };
  /** The prometheus adapter's /metrics (42422). */
  metricsPort: number;
  /** /metrics /healthz /ready /version (15014). */
  monitoringPort: number;
  /**
   * The expression compiler; default: Istio's expression language over the default manifests plus
   * every `attributemanifest` in the config.
   */
  compiler?: ExpressionCompiler;
  /** Rules in this namespace apply to all namespaces (istio-system). */
  defaultNamespace?: string;
  domain?: string;
  natsUrl?: string;
  /** Where tracespan handlers export (OTLP in main, in-memory in tests); none drops spans. */
  spanExporter?: SpanExporter;
  stdout?: Writable;
  stderr?: Writable;
  /** Quiet time before a config change is applied (100 ms; at most 1 s after the first change). */
  configQuietMs?: number;
  /** gRPC max receive message size (1 MiB, Mixer's --maxMessageSize). */
  maxMessageBytes?: number;
  logger: Logger;
  version?: string;
}

export interface TelemetryPorts {
  grpcPort: number;
  secureGrpcPort?: number;
  metricsPort: number;
  monitoringPort: number;
}

export interface MixerTelemetry {
  start(): Promise<TelemetryPorts>;
  stop(): Promise<void>;
  ready(): boolean;
  /** The config errors of the running config. */
  configErrors(): readonly ConfigError[];
  /** Dispatches bags directly (Mixer Report and tests use the same path as access logs). */
  report(bags: Bag[]): void;
  /** Exports buffered trace spans now. */
  flushSpans(): Promise<void>;
  prom: PromStore;
  alsStats(): AlsStats | undefined;
  /** NATS connected and the KEEL_ACCESSLOG stream in place. */
  natsConnected(): boolean;
  /** `config` ({errors}) after each config build, `ready`, `nats` (connected, stream in place). */
  events: EventEmitter;
}

function bindGrpc(
  server: grpc.Server,
  address: string,
  creds: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, creds, (e, port) => (e ? reject(e) : resolve(port))),
  );
}

/** Wires mixer-telemetry; nothing listens until `start`. */
export function createMixerTelemetry(options: MixerTelemetryOptions): MixerTelemetry {
  const log = options.logger;
  const version = options.version ?? process.env.KEEL_VERSION ?? '0.1.0';
  const host = options.host ?? '0.0.0.0';
  const events = new EventEmitter();
  const registry = newRegistry('mixer-telemetry', version);
  const prom = new PromStore();
  const spans = createSpanSink(options.spanExporter);
  let bus: Bus | undefined;
  let stopped = false;
  const ctx: AdapterContext = {
    prom,
    stdout: options.stdout ?? process.stdout,
    stderr: options.stderr ?? process.stderr,
    bus: () => bus,
    spans,
    logger: log,
  };
  let runtime = new Runtime([], [], options.defaultNamespace ?? 'istio-system', {
    rules: 0,
    instances: 0,
    handlers: 0,
  });
  let errors: ConfigError[] = [];
  let mesh = new MeshIndex();
  let sink: McpSink | undefined;
  let configured = false;
  let rebuildTimer: NodeJS.Timeout | undefined;
  let firstPending: number | undefined;
  const reports = { requests: 0, bags: 0, errors: 0 };

  function rebuild(resources: ConfigResource[]): void {
    const manifests = resources.filter((r) => r.kind === 'attributemanifest').map((r) => r.spec);
    const built = buildRuntime(mixerConfigOf(resources), {
      compiler: options.compiler ?? cexlCompiler(manifestOf(manifests)),
      adapters: REPORT_ADAPTERS,
      ctx,
      ...(options.defaultNamespace ? { defaultNamespace: options.defaultNamespace } : {}),
    });
    const old = runtime;
    runtime = built.runtime;
    old.close();
    errors = built.errors;
    for (const e of errors)
      log.warn({ resource: e.resource, kind: e.kind, error: e.message }, 'mixer config rejected');
    log.info({ ...runtime.counts, errors: errors.length }, 'telemetry config applied');
    configured = true;
    events.emit('config', { errors });
  }

  function mcpResources(s: McpSink): ConfigResource[] {
    const out: ConfigResource[] = [...(options.staticConfig ?? [])];
    for (const c of mixerConfigCollections()) {
      for (const r of s.state(c).values()) {
        const cr = configResource(c, r);
        if (cr) out.push(cr);
      }
    }
    return out;
  }

  const mcpClient =
    options.mcpAddress && options.mcpTls
      ? mtlsChannel(certDirFiles(options.mcpTls.certDir), [options.mcpTls.galleyIdentity], log)
      : undefined;
  if (options.mcpAddress) {
    const s = createMcpSink({
      address: options.mcpAddress,
      ...(mcpClient ? { credentials: mcpClient.credentials } : {}),
      collections: telemetryCollections(),
      sinkId: `mixer-telemetry-${hostname()}-${process.pid}`,
      logger: log,
      registry,
      component: 'mixer-telemetry',
      apply(update) {
        if (update.collection === PODS_COLLECTION || update.collection === SERVICES_COLLECTION) {
          // state() reflects this update only after apply returns: use the update's full set.
          const pods =
            update.collection === PODS_COLLECTION ? update.resources : [...s.state(PODS_COLLECTION).values()];
          const svcs =
            update.collection === SERVICES_COLLECTION
              ? update.resources
              : [...s.state(SERVICES_COLLECTION).values()];
          mesh = MeshIndex.fromMcp(
            new Map(pods.map((r) => [r.metadata.name, r])),
            new Map(svcs.map((r) => [r.metadata.name, r])),
            options.domain,
          );
          return;
        }
        // One rebuild per burst: a snapshot arrives as one response per collection (Mixer's
        // watch flush did the same): quiet period, bounded by a maximum delay.
        if (!s.synced()) return;
        const now = Date.now();
        firstPending ??= now;
        if (rebuildTimer) clearTimeout(rebuildTimer);
        const wait = Math.min(options.configQuietMs ?? 100, Math.max(0, firstPending + 1000 - now));
        rebuildTimer = setTimeout(() => {
          rebuildTimer = undefined;
          firstPending = undefined;
          if (!stopped) rebuild(mcpResources(s));
        }, wait);
      },
    });
    s.on('synced', () => {
      rebuild(mcpResources(s));
      events.emit('ready');
    });
    sink = s;
  }

  const report = (bags: Bag[]) => runtime.report(bags);
  const grpcServer = new grpc.Server({
    'grpc.max_receive_message_length': options.maxMessageBytes ?? 1024 * 1024,
    'grpc.max_concurrent_streams': 1024,
  });
  const als = addAccessLogService(grpcServer, { mesh: () => mesh, report, logger: log });
  addMixerReportService(grpcServer, { mesh: () => mesh, report, logger: log, stats: reports });
  registerSelfMetrics(registry, {
    runtime: () => runtime,
    als: () => als,
    prom,
    configErrors: () => ({
      rule: errors.filter((e) => e.kind === 'rule').length,
      instance: errors.filter((e) => e.kind === 'instance').length,
      handler: errors.filter((e) => e.kind === 'handler').length,
    }),
    reports: () => reports,
  });
  const ready = () => configured && (!sink || sink.synced());
  const monitoring = createMonitoringServer({
    port: options.monitoringPort,
    host,
    registry,
    version,
    ready,
    logger: log.child({ server: 'monitoring' }),
  });
  const metricsServer: Server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      const body = prom.render();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: the prometheus adapter serves /metrics\n');
  });

  function connectNats(url: string): void {
    connectBus({ url, name: `mixer-telemetry-${hostname()}-${process.pid}`, logger: log })
      .then(async (b) => {
        if (stopped) return void b.close();
        try {
          const jsm = await jetstreamManager(b.connection);
          await jsm.streams.add({
            name: ACCESSLOG_STREAM,
            subjects: [Subjects.accessLog],
            max_msgs: 1_000_000,
            max_bytes: 512 * 1024 * 1024,
          });
        } catch (e) {
          const msg = (e as Error).message;
          if (!/already in use|exists/i.test(msg))
            log.warn({ err: e }, `JetStream stream ${ACCESSLOG_STREAM} not created`);
        }
        bus = b;
        log.info({ url }, 'NATS connected');
        events.emit('nats');
      })
      .catch((e) => log.error({ err: e }, 'NATS connection failed'));
  }

  let mtls: MtlsServer | undefined;
  return {
    events,
    prom,
    ready,
    configErrors: () => errors,
    report(bags) {
      reports.bags += bags.length;
      report(bags);
    },
    flushSpans: () => spans.flush(),
    alsStats: () => als,
    natsConnected: () => bus !== undefined,
    async start() {
      if (!options.mcpAddress) rebuild([...(options.staticConfig ?? [])]);
      const grpcPort = await bindGrpc(grpcServer, `${host}:${options.grpcPort}`);
      let secureGrpcPort: number | undefined;
      if (options.secure) {
        const { port, certDir, trustDomain } = options.secure;
        mtls = await mtlsServerCredentials(certDirFiles(certDir), { trustDomain }, log);
        secureGrpcPort = await bindGrpc(grpcServer, `${host}:${port}`, mtls.credentials);
      }
      const metricsPort = await new Promise<number>((resolve, reject) => {
        metricsServer.once('error', reject);
        metricsServer.listen(options.metricsPort, host, () => {
          const a = metricsServer.address();
          resolve(typeof a === 'object' && a ? a.port : 0);
        });
      });
      const monitoringPort = (await monitoring.start()).port;
      await mcpClient?.start();
      sink?.start();
      if (options.natsUrl) connectNats(options.natsUrl);
      return { grpcPort, metricsPort, monitoringPort, ...(secureGrpcPort ? { secureGrpcPort } : {}) };
    },
    async stop() {
      stopped = true;
      if (rebuildTimer) clearTimeout(rebuildTimer);
      await sink?.stop();
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
      runtime.close();
      prom.close();
      await spans.shutdown();
      await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      metricsServer.closeAllConnections();
      await monitoring.stop();
      mtls?.close();
      mcpClient?.close();
      await bus?.close();
    },
  };
}
