import { EventEmitter } from 'node:events';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { type Bus, connectBus, Subjects } from '@keel/bus';
import {
  type ConfigError,
  coreCollections,
  formatError,
  istioCollections,
  kinds,
  MESH_CONFIG_COLLECTION,
  type MeshConfig,
  meshConfigDefaults,
  parseDocuments,
  parseMeshConfig,
  type ResourceLimits,
} from '@keel/config';
import { createMcpSource, type McpSource } from '@keel/mcp';
import { certDirFiles, type MtlsServer, mtlsServerCredentials } from '@keel/pki';
import {
  capText,
  createMonitoringServer,
  Debouncer,
  type Logger,
  newRegistry,
  type Tracing,
  watchTlsFiles,
} from '@keel/runtime';
import type { KubeConfig } from '@kubernetes/client-node';
import { Ingestor, type IngestReporter } from './ingest.js';
import { galleyMetrics } from './metrics.js';
import { buildSnapshot } from './snapshot.js';
import { type DirectoryWatcher, displayPath, type FileEvent, watchDirectory } from './sources/files.js';
import { createKubeSource, type KubeSource } from './sources/kube.js';
import { ResourceStore, resourceKey } from './store.js';
import { createWebhookServer, type WebhookServer } from './webhook.js';

export interface GalleyOptions {
  /** Directory of YAML to serve (file mode). */
  configDir?: string;
  /** Kubernetes API access (Kubernetes mode). */
  kubeConfig?: KubeConfig;
  meshConfigFile?: string;
  host?: string;
  mcpPort: number;
  /** MCP over mTLS with Citadel-issued certificates; sinks need a SPIFFE id in `trustDomain`. */
  mcpTls?: { certDir: string; trustDomain: string };
  monitoringPort: number;
  /** Webhook port; the webhook runs only with a certificate. */
  webhookPort?: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  natsUrl?: string;
  debounceQuietMs?: number;
  debounceMaxMs?: number;
  logger: Logger;
  version?: string;
  /** Size and depth limits for every source and the webhook (defaults: 1.5 MiB, 32 levels). */
  limits?: ResourceLimits;
  /** Full rescan period of configDir, a backstop to file events (default 30 s; 0 disables). */
  rescanIntervalMs?: number;
  /** Spans (one per published snapshot) go here; no-op when absent. */
  tracer?: Tracing['tracer'];
}

export interface GalleyAddresses {
  mcpPort: number;
  monitoringPort: number;
  webhookPort?: number;
}

export interface Galley {
  start(): Promise<GalleyAddresses>;
  stop(): Promise<void>;
  /** True once the first snapshot is published. */
  ready(): boolean;
  store: ResourceStore;
  mcp: McpSource;
  /**
   * `nack` (McpNackEvent) when a sink rejects a response; `snapshot` (version) on each publish;
   * `certificate` when the webhook starts serving a reloaded certificate.
   */
  events: EventEmitter;
}

/** Every collection Galley serves over MCP. */
export function servedCollections(): string[] {
  return [...istioCollections(), ...coreCollections(), MESH_CONFIG_COLLECTION].filter(
    (c, i, a) => a.indexOf(c) === i,
  );
}

/** Galley: sources -> validation -> store -> debounced snapshots -> MCP, plus the validating webhook. */
export function createGalley(opts: GalleyOptions): Galley {
  const log = opts.logger;
  const registry = newRegistry('galley', opts.version);
  const metrics = galleyMetrics(registry);
  const store = new ResourceStore();
  const served = servedCollections();
  const events = new EventEmitter();
  const mcp = createMcpSource({
    collections: served,
    logger: log.child({ part: 'mcp' }),
    registry,
    component: 'galley',
    onNack: (e) => {
      log.warn({ sink: e.sinkId, collection: e.collection, error: e.error.message }, 'MCP sink NACK');
      events.emit('nack', e);
    },
  });
  let bus: Bus | undefined;
  let mesh: MeshConfig = meshConfigDefaults();
  let snapshotCount = 0;
  let isReady = false;
  let started = false;

  const publish = (): void => {
    snapshotCount++;
    const span = opts.tracer?.startSpan('galley.snapshot');
    const snap = buildSnapshot(
      store,
      served,
      mesh as unknown as Record<string, unknown>,
      String(snapshotCount),
      (entry, err) =>
        log.error(
          { kind: entry.resource.kind, name: entry.resource.metadata.name, err: capText(String(err)) },
          'resource conversion failed; left out of the snapshot',
        ),
    );
    mcp.setSnapshot(snap);
    span?.setAttributes({ 'keel.snapshot.version': snap.version, 'keel.snapshot.resources': store.size() });
    span?.end();
    metrics.snapshotsPublished.inc();
    for (const c of served) metrics.instances.set({ collection: c }, snap.collections.get(c)?.length ?? 0);
    isReady = true;
    events.emit('snapshot', snap.version);
    log.info({ version: snap.version, resources: store.size() }, 'snapshot published');
  };
  // Galley's snapshot strategy: 500 ms quiet, 1 s at most; events carry no value.
  const debouncer = new Debouncer<void>({
    quietMs: opts.debounceQuietMs ?? 500,
    maxMs: opts.debounceMaxMs ?? 1000,
    run: publish,
    onError: (err) => log.error({ err }, 'snapshot publish failed'),
    onStat: (stat) => {
      if (stat === 'quiesceReached') metrics.quiesceReached.inc();
      else if (stat === 'maxReached') metrics.maxReached.inc();
      else metrics.timerResets.inc();
    },
  });
  store.onChange(() => {
    metrics.onChange.inc();
    if (isReady) debouncer.trigger();
  });

  const reporter: IngestReporter = {
    accepted: () => metrics.eventsProcessed.inc(),
    rejected: (errors: ConfigError[], origin: string) => {
      for (const e of errors) {
        const info = e.kind ? kinds.find((k) => k.kind === e.kind) : undefined;
        metrics.failed.inc({
          group: info?.group ?? '',
          version: info?.version ?? '',
          resource: info?.plural ?? '',
          reason: e.code,
        });
        log.warn({ origin, code: e.code }, formatError(e));
        bus?.publish(Subjects.configRejected, {
          source: origin,
          kind: e.kind ?? '',
          namespace: e.namespace ?? '',
          name: e.name ?? '',
          reason: e.message,
          ...(e.source?.file ? { file: e.source.file } : {}),
          ...(e.source?.line ? { line: e.source.line } : {}),
          time: new Date().toISOString(),
        });
      }
    },
    duplicate: (defs) => {
      metrics.duplicates.inc();
      const where = (d: (typeof defs)[number]) =>
        `${d.resource.source?.file ?? d.origin}:${d.resource.source?.line ?? '?'}`;
      const [served, ...others] = defs;
      if (!served) return;
      const id = `${served.resource.kind} ${resourceKey(served.resource)}`;
      log.warn(
        {
          kind: served.resource.kind,
          name: resourceKey(served.resource),
          served: where(served),
          ignored: others.map(where),
        },
        `duplicate ${id}: ${where(served)} is served (first in path order), ${others.map(where).join(', ')} ignored`,
      );
    },
    kept: (origin, n) =>
      log.warn(
        { file: opts.configDir ? displayPath(opts.configDir, origin) : origin, kept: n },
        'config file has errors: resources it no longer lists are kept until it is valid',
      ),
  };
  const ingestor = new Ingestor(store, reporter, opts.limits);

  let dirWatcher: DirectoryWatcher | undefined;
  let kubeSource: KubeSource | undefined;
  const grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': 1024 * 1024 });
  grpcServer.addService(mcp.definition, mcp.implementation);
  let webhook: WebhookServer | undefined;
  let tlsWatch: { close(): void } | undefined;
  let mcpMtls: MtlsServer | undefined;
  let meshWatch: FSWatcher | undefined;
  let mcpPort = 0;
  const monitoring = createMonitoringServer({
    port: opts.monitoringPort,
    ...(opts.host ? { host: opts.host } : {}),
    registry,
    version: opts.version ?? '0.1.0',
    ready: () => isReady,
    logger: log,
  });

  const applyFiles = (events: FileEvent[]): void => {
    for (const ev of events) {
      const shown = opts.configDir ? displayPath(opts.configDir, ev.path) : ev.path;
      if (ev.content === undefined) {
        const n = ingestor.removeOrigin(ev.path);
        log.info({ file: shown, removed: n }, 'config file removed');
        continue;
      }
      const parsed = parseDocuments(ev.content, shown);
      const s = ingestor.applyOriginSet(ev.path, parsed.resources, parsed.errors);
      log.info({ file: shown, ...s }, 'config file applied');
    }
  };

  const applyMesh = (text: string | undefined, origin: string): void => {
    if (text === undefined) {
      mesh = meshConfigDefaults();
    } else {
      const r = parseMeshConfig(text, origin);
      if (!r.ok) {
        reporter.rejected(r.errors, origin);
        return;
      }
      mesh = r.value;
    }
    if (isReady) debouncer.trigger();
  };

  return {
    store,
    mcp,
    events,
    ready: () => isReady,
    async start() {
      if (opts.natsUrl)
        bus = await connectBus({ url: opts.natsUrl, name: 'galley', logger: log.child({ part: 'bus' }) });
      if (opts.meshConfigFile) {
        const file = opts.meshConfigFile;
        const load = async () => applyMesh(await readFile(file, 'utf8').catch(() => undefined), file);
        await load();
        meshWatch = watch(dirname(file), (_t, name) => {
          if (!name || String(name) === basename(file) || String(name).startsWith('..')) void load();
        });
      }
      let dirReady = !opts.configDir;
      if (opts.configDir) {
        dirWatcher = watchDirectory(opts.configDir, applyFiles, log.child({ part: 'files' }), {
          rescanIntervalMs: opts.rescanIntervalMs ?? 30_000,
          onAvailability: (available) => {
            metrics.configDirAvailable.set(available ? 1 : 0);
            dirReady = available;
            // Nothing is published (and /ready stays false) until the directory has been read once:
            // an empty snapshot would wipe every proxy's config.
            if (available && !isReady && started) publish();
          },
        });
        const first = await dirWatcher.scan();
        dirReady ||= first.ok;
        metrics.configDirAvailable.set(first.ok ? 1 : 0);
        if (first.ok) applyFiles(first.events);
      }
      if (opts.kubeConfig) {
        kubeSource = createKubeSource({
          kubeConfig: opts.kubeConfig,
          ingestor,
          logger: log.child({ part: 'kube' }),
          onMeshConfig: opts.meshConfigFile
            ? undefined
            : (yaml) => applyMesh(yaml, 'configmap istio-system/istio'),
          onEventError: () => metrics.kubeEventError.inc(),
          onEventSuccess: () => metrics.kubeEventSuccess.inc(),
        });
        await kubeSource.start();
      }
      started = true;
      if (dirReady) publish();
      if (opts.mcpTls) {
        const files = certDirFiles(opts.mcpTls.certDir);
        mcpMtls = await mtlsServerCredentials(files, { trustDomain: opts.mcpTls.trustDomain }, log);
      }
      mcpPort = await new Promise<number>((resolve, reject) =>
        grpcServer.bindAsync(
          `${opts.host ?? '0.0.0.0'}:${opts.mcpPort}`,
          mcpMtls?.credentials ?? grpc.ServerCredentials.createInsecure(),
          (err, port) => (err ? reject(err) : resolve(port)),
        ),
      );
      const addresses: GalleyAddresses = { mcpPort, monitoringPort: (await monitoring.start()).port };
      if (opts.webhookPort !== undefined && opts.tlsCertFile && opts.tlsKeyFile) {
        const tls = await watchTlsFiles({
          certFile: opts.tlsCertFile,
          keyFile: opts.tlsKeyFile,
          logger: log,
          onChange: (pair) => {
            webhook?.setCertificate(pair.cert, pair.key);
            metrics.certKeyUpdates.inc();
            events.emit('certificate');
          },
        });
        tlsWatch = tls;
        const pair = tls.current();
        webhook = createWebhookServer({
          port: opts.webhookPort,
          ...(opts.host ? { host: opts.host } : {}),
          cert: pair.cert,
          key: pair.key,
          logger: log.child({ part: 'webhook' }),
          metrics: metrics.webhook,
          ...(opts.limits ? { limits: opts.limits } : {}),
        });
        addresses.webhookPort = (await webhook.start()).port;
      }
      return addresses;
    },
    async stop() {
      await debouncer.stop();
      dirWatcher?.close();
      meshWatch?.close();
      kubeSource?.stop();
      tlsWatch?.close();
      mcpMtls?.close();
      mcp.close();
      await new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
      await webhook?.stop();
      await monitoring.stop();
      await bus?.close();
    },
  };
}
