// createMixerPolicy: MCP sink of the policy config, the engine, gRPC Check servers, monitoring, NATS.
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { type Bus, connectBus, type PolicyDeniedEvent, Subjects } from '@keel/bus';
import { kinds, MESH_CONFIG_COLLECTION } from '@keel/config';
import { createMcpSink, type McpResource, type McpUpdate } from '@keel/mcp';
import { certDirFiles, type MtlsServer, mtlsChannel, mtlsServerCredentials } from '@keel/pki';
import { serviceDefinition, unpackStruct } from '@keel/proto';
import { createMonitoringServer, type Logger, newRegistry } from '@keel/runtime';
import type { Handler } from './adapters/types.js';
import { compilePolicy, emptyConfig, type PolicyConfig } from './config/compile.js';
import { type PolicyResource, policyResource } from './config/resources.js';
import { type CheckContext, extAuthzService, mixerService } from './grpc.js';
import { policyMetrics } from './metrics.js';
import { PolicyEngine, type Verdict } from './runtime/engine.js';
import { KubeIndex } from './runtime/kubeenv.js';
import { codeName } from './runtime/status.js';

export const PODS_COLLECTION = 'k8s/core/v1/pods';
export const SERVICES_COLLECTION = 'k8s/core/v1/services';
const RBAC_KINDS = new Set(['ServiceRole', 'ServiceRoleBinding']);
const QUOTA_KINDS = new Set(['QuotaSpec', 'QuotaSpecBinding']);

/** Every collection mixer-policy reads. */
export function policyCollections(): string[] {
  const policy = kinds
    .filter((k) => k.webhook === 'mixer' || QUOTA_KINDS.has(k.kind) || RBAC_KINDS.has(k.kind))
    .map((k) => k.collection);
  return [...new Set([...policy, PODS_COLLECTION, SERVICES_COLLECTION, MESH_CONFIG_COLLECTION])];
}

export interface MixerPolicyOptions {
  /** Galley's MCP `host:port`. */
  mcpAddress: string;
  host?: string;
  /** gRPC port for both Check APIs (9091); 0 picks a free one. */
  grpcPort: number;
  /** mTLS gRPC (15004) with Citadel-issued certificates from `certDir`; clients need a mesh SPIFFE id. */
  secure?: { port: number; certDir: string; trustDomain: string };
  /** Galley's MCP over mTLS: the `certDir` files, Galley checked by SPIFFE id. */
  mcpTls?: { certDir: string; galleyIdentity: string };
  monitoringPort: number;
  natsUrl?: string;
  domain?: string;
  /** Rules here apply to every namespace (istio-system). */
  configDefaultNamespace?: string;
  checkCacheEntries?: number;
  /** Denial events published per second at most (default 5). */
  deniedEventsPerSecond?: number;
  replica?: string;
  version?: string;
  logger: Logger;
}

export interface MixerPolicy {
  start(): Promise<{ grpcPort: number; monitoringPort: number; secureGrpcPort?: number }>;
  stop(): Promise<void>;
  engine: PolicyEngine;
  kube: KubeIndex;
  config(): PolicyConfig;
  ready(): boolean;
  /** Resolves after the next configuration compile (for tests and tools). */
  nextConfig(): Promise<PolicyConfig>;
  bus(): Bus | undefined;
}

export function createMixerPolicy(options: MixerPolicyOptions): MixerPolicy {
  const log = options.logger;
  const replica = options.replica ?? `${hostname()}-${process.pid}`;
  const registry = newRegistry('mixer-policy', options.version);
  let failOpen = false;
  const metrics = policyMetrics(registry, () => engine.cache.stats);
  const engine = new PolicyEngine({
    failOpen: () => failOpen,
    cacheEntries: options.checkCacheEntries,
    observer: metrics.observer,
  });
  const kube = new KubeIndex(options.domain);
  const resources = new Map<string, PolicyResource[]>();
  let rbacRoles: PolicyResource[] = [];
  let rbacBindings: PolicyResource[] = [];
  let bus: Bus | undefined;
  let stopped = false;
  let configWaiters: ((c: PolicyConfig) => void)[] = [];
  engine.setConfig(emptyConfig(options.configDefaultNamespace ?? 'istio-system'));

  const recompile = (version: string) => {
    const all = [...resources.values()].flat();
    rbacRoles = all.filter((r) => r.kind === 'ServiceRole');
    rbacBindings = all.filter((r) => r.kind === 'ServiceRoleBinding');
    const env = {
      logger: log.child({ part: 'adapter' }),
      bus: () => bus,
      now: Date.now,
      rbac: () => ({ roles: rbacRoles, bindings: rbacBindings }),
    };
    const { config, retired } = compilePolicy(all, engine.current(), env, version);
    engine.setConfig(config);
    for (const h of retired) void closeHandler(h);
    metrics.config.handlers.set(config.handlers.size);
    metrics.config.instances.set(config.instances.size);
    metrics.config.rules.set(config.rules.length);
    metrics.config.attributes.set(config.manifest.size);
    metrics.config.errors.reset();
    for (const i of config.issues) {
      metrics.config.errors.inc({ kind: i.resource.split(' ')[0]! });
      log.warn(
        { resource: i.resource, errors: i.errors, keptLastGood: i.keptLastGood },
        'policy resource rejected',
      );
    }
    log.info(
      {
        version,
        handlers: config.handlers.size,
        instances: config.instances.size,
        rules: config.rules.length,
        issues: config.issues.length,
      },
      'policy configuration in force',
    );
    const waiters = configWaiters;
    configWaiters = [];
    for (const w of waiters) w(config);
  };
  const closeHandler = async (h: Handler) => {
    metrics.closedHandlers.inc();
    try {
      await h.close?.();
    } catch (e) {
      log.warn({ err: e }, 'handler close failed');
    }
  };

  const apply = (u: McpUpdate) => {
    if (u.collection === PODS_COLLECTION) return kube.setPods(u.resources);
    if (u.collection === SERVICES_COLLECTION) return kube.setServices(u.resources);
    if (u.collection === MESH_CONFIG_COLLECTION) {
      const body = u.resources[0] ? (unpackStruct(u.resources[0].body) as Record<string, unknown>) : {};
      failOpen = body?.policyCheckFailOpen === true;
      return;
    }
    resources.set(
      u.collection,
      u.resources.flatMap((r: McpResource) => policyResource(u.collection, r) ?? []),
    );
    if (sink.synced()) recompile(u.version);
  };
  const mcpClient = options.mcpTls
    ? mtlsChannel(certDirFiles(options.mcpTls.certDir), [options.mcpTls.galleyIdentity], log)
    : undefined;
  const sink = createMcpSink({
    address: options.mcpAddress,
    ...(mcpClient ? { credentials: mcpClient.credentials } : {}),
    collections: policyCollections(),
    sinkId: `mixer-policy-${replica}`,
    logger: log.child({ part: 'mcp' }),
    registry,
    component: 'mixer-policy',
    apply,
  });
  sink.on('synced', () => recompile(sink.sourceVersion() ?? 'synced'));

  // Sampled denial events: a token bucket of deniedEventsPerSecond, skipped ones counted in the next.
  const rate = options.deniedEventsPerSecond ?? 5;
  let tokens = rate;
  let lastRefill = Date.now();
  let skipped = 0;
  const answered: CheckContext['answered'] = (api, v: Verdict, bag) => {
    metrics.checks.inc({ api, code: codeName(v.code), cache_hit: String(v.cacheHit) });
    if (v.code === 0 || !bus) return;
    const now = Date.now();
    tokens = Math.min(rate, tokens + ((now - lastRefill) / 1000) * rate);
    lastRefill = now;
    if (tokens < 1) {
      skipped++;
      return;
    }
    tokens -= 1;
    const event: PolicyDeniedEvent = {
      source: 'mixer-policy',
      replica,
      time: new Date(now).toISOString(),
      code: codeName(v.code),
      httpStatus: v.httpStatus,
      message: v.message,
      sourceUid: bag.get('source.uid') as string | undefined,
      destinationService: bag.get('destination.service.host') as string | undefined,
      skipped,
    };
    skipped = 0;
    bus.publish(Subjects.policyDenied, event);
  };

  const ctx: CheckContext = { engine, kube, logger: log, failOpen: () => failOpen, answered };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 1024 * 1024,
    'grpc.max_concurrent_streams': 1024,
  });
  server.addService(serviceDefinition('envoy.service.auth.v3.Authorization'), extAuthzService(ctx));
  server.addService(serviceDefinition('istio.mixer.v1.Mixer'), mixerService(ctx));

  const monitoring = createMonitoringServer({
    port: options.monitoringPort,
    host: options.host,
    registry,
    version: options.version ?? '0.1.0',
    ready: () => sink.synced(),
    logger: log,
    routes: (app) => {
      app.get('/debug', async () => debugView(engine.current(), kube, bus));
      app.get('/debug/config', async () => debugView(engine.current(), kube, bus));
    },
  });

  let grpcPort = 0;
  let mtls: MtlsServer | undefined;
  const bind = (address: string, creds: grpc.ServerCredentials) =>
    new Promise<number>((resolve, reject) =>
      server.bindAsync(address, creds, (e, port) => (e ? reject(e) : resolve(port))),
    );
  return {
    engine,
    kube,
    config: () => engine.current(),
    ready: () => sink.synced(),
    bus: () => bus,
    nextConfig: () => new Promise((resolve) => configWaiters.push(resolve)),
    async start() {
      const host = options.host ?? '0.0.0.0';
      grpcPort = await bind(`${host}:${options.grpcPort}`, grpc.ServerCredentials.createInsecure());
      let secureGrpcPort: number | undefined;
      if (options.secure) {
        const { port, certDir, trustDomain } = options.secure;
        mtls = await mtlsServerCredentials(certDirFiles(certDir), { trustDomain }, log);
        secureGrpcPort = await bind(`${host}:${port}`, mtls.credentials);
      }
      const m = await monitoring.start();
      await mcpClient?.start();
      sink.start();
      if (options.natsUrl) {
        // NATS is optional for answering: connect in the background and keep retrying.
        void connectBus({
          url: options.natsUrl,
          name: `mixer-policy-${replica}`,
          logger: log,
          reconnectWaitMs: 250,
        })
          .then((b) => {
            if (stopped) void b.close();
            else bus = b;
          })
          .catch((e) => log.warn({ err: e }, 'NATS connection failed'));
      }
      log.info({ grpcPort, secureGrpcPort, monitoringPort: m.port }, 'mixer-policy listening');
      return { grpcPort, monitoringPort: m.port, ...(secureGrpcPort ? { secureGrpcPort } : {}) };
    },
    async stop() {
      stopped = true;
      await sink.stop();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await monitoring.stop();
      mtls?.close();
      mcpClient?.close();
      for (const h of engine.current().handlers.values()) await closeHandler(h.handler);
      await bus?.close();
    },
  };
}

function debugView(config: PolicyConfig, kube: KubeIndex, bus: Bus | undefined) {
  return {
    version: config.version,
    defaultNamespace: config.defaultNamespace,
    handlers: [...config.handlers.values()].map((h) => ({
      name: h.key,
      adapter: h.adapter,
      state: h.handler.debug?.(),
    })),
    instances: [...config.instances.values()].map((i) => ({ name: i.key, template: i.template })),
    rules: config.rules.map((r) => ({
      name: r.key,
      match: r.match?.text ?? '',
      checks: r.checks.map((a) => ({ handler: a.handler.key, instances: a.instances.map((i) => i.key) })),
      quotas: r.quotas.map((a) => ({ handler: a.handler.key, instances: a.instances.map((i) => i.key) })),
    })),
    errors: config.issues,
    pods: kube.pods(),
    nats: bus?.status() ?? 'not connected',
  };
}
