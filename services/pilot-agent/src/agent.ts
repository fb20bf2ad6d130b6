// pilot-agent: workload certificate from Citadel, SDS on a Unix socket, Envoy bootstrap (and the
// Envoy process when its binary exists), gRPC xDS bootstrap for proxyless apps, status server.

import { X509Certificate } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KeyAlgorithm } from '@keel/pki';
import { toProtoJson } from '@keel/proto';
import { createMonitoringServer, type Logger, newRegistry } from '@keel/runtime';
import { Counter, Gauge } from 'prom-client';
import { type BootstrapOptions, buildBootstrap } from './bootstrap.js';
import { applyBootstrapOverride } from './bootstrap-check.js';
import { createEnvoyRunner, type EnvoyRunner } from './envoy.js';
import { buildGrpcBootstrap } from './grpc-bootstrap.js';
import type { ProxyNode } from './node.js';
import { createSdsServer } from './sds.js';
import { type AppProbe, readinessProblem, registerStatusRoutes } from './status.js';
import { createWorkloadCerts, type WorkloadCerts } from './workload.js';

export interface AgentOptions extends Omit<BootstrapOptions, 'sdsUdsPath'> {
  node: ProxyNode;
  configPath: string;
  binaryPath: string;
  statusPort: number;
  statusHost?: string;
  caAddress: string;
  caRootFile: string;
  tokenPath: string;
  /** `unix:/path` or a path. */
  sdsUdsPath: string;
  secretTtlMs: number;
  graceRatio: number;
  keyAlgorithm: KeyAlgorithm;
  outputCerts?: string;
  grpcBootstrap?: string;
  /** JSON merged into the generated bootstrap (ISTIO_BOOTSTRAP_OVERRIDE's file). */
  bootstrapOverride?: string;
  drainDurationMs: number;
  parentShutdownDurationMs: number;
  proxyLogLevel: string;
  proxyComponentLogLevel: string;
  concurrency: number;
  terminationDrainMs: number;
  probers?: Record<string, AppProbe>;
  /** --applicationPorts: a router is ready only with listeners on them. */
  applicationPorts?: readonly number[];
  /** Called by POST /quitquitquit. */
  onQuit?: () => void;
  logger: Logger;
  version?: string;
}

export interface Agent {
  start(): Promise<{ statusPort: number; bootstrapFile: string; envoy: boolean }>;
  stop(): Promise<void>;
  certs: WorkloadCerts;
}

export function createAgent(o: AgentOptions): Agent {
  const log = o.logger;
  const version = o.version ?? process.env.KEEL_VERSION ?? '0.1.0';
  const registry = newRegistry('pilot-agent', version);
  const registers = [registry];
  const renewals = new Counter({
    name: 'pilot_agent_cert_renewals_total',
    help: 'Workload certificate renewals',
    registers,
  });
  const expiry = new Gauge({
    name: 'pilot_agent_cert_expiry_timestamp',
    help: 'Unix time (seconds) when the workload certificate expires',
    registers,
  });
  const pushes = new Counter({
    name: 'pilot_agent_sds_pushes_total',
    help: 'SDS responses sent to Envoy',
    registers,
  });
  const socketPath = o.sdsUdsPath.replace(/^unix:/, '');
  const sds = createSdsServer({ socketPath, logger: log.child({ part: 'sds' }), onPush: () => pushes.inc() });
  const certs = createWorkloadCerts({
    caAddress: o.caAddress,
    caRootFile: o.caRootFile,
    tokenPath: o.tokenPath,
    ttlMs: o.secretTtlMs,
    graceRatio: o.graceRatio,
    keyAlgorithm: o.keyAlgorithm,
    ...(o.outputCerts ? { outputDir: o.outputCerts } : {}),
    logger: log.child({ part: 'certs' }),
  });
  let first = true;
  certs.on('update', (m) => {
    sds.update(m);
    expiry.set(Math.floor(Date.parse(new X509Certificate(m.certChainPem).validTo) / 1000));
    if (!first) renewals.inc();
    first = false;
  });
  let envoy: EnvoyRunner | undefined;
  let started = false;
  const bootstrapJson = (): unknown => {
    const generated = toProtoJson(
      'envoy.config.bootstrap.v3.Bootstrap',
      buildBootstrap({ ...o, sdsUdsPath: socketPath }),
    );
    if (o.bootstrapOverride === undefined) return generated;
    const merged = applyBootstrapOverride(generated, o.bootstrapOverride);
    if (!merged.ok) throw new Error(merged.errors.join('\n'));
    return merged.value;
  };
  const writeBootstrap = async (epoch: number): Promise<string> => {
    await mkdir(o.configPath, { recursive: true });
    const file = path.join(o.configPath, `envoy-rev${epoch}.json`);
    await writeFile(file, `${JSON.stringify(bootstrapJson(), null, 2)}\n`);
    return file;
  };
  const routerPorts = o.node.type === 'router' ? (o.applicationPorts ?? []) : [];
  const monitoring = createMonitoringServer({
    port: o.statusPort,
    host: o.statusHost ?? '0.0.0.0',
    registry,
    version,
    logger: log,
    ready: async () =>
      (await readinessProblem({
        agentReady: () => started,
        envoyRunning: () => !!envoy?.running(),
        adminPort: o.adminPort,
        routerPorts,
      })) === undefined,
    routes: (app) =>
      registerStatusRoutes(app, {
        adminPort: o.adminPort,
        envoyRunning: () => !!envoy?.running(),
        agentReady: () => started,
        routerPorts,
        probers: o.probers ?? {},
        registry,
        onQuit: o.onQuit ?? (() => process.kill(process.pid, 'SIGTERM')),
      }),
  });

  return {
    certs,
    async start() {
      // The bootstrap needs no certificate: written (and any override checked) first.
      const bootstrapFile = await writeBootstrap(0);
      await mkdir(path.dirname(socketPath), { recursive: true });
      await sds.start();
      const statusPort = (await monitoring.start()).port;
      await certs.start();
      if (o.grpcBootstrap) {
        const grpcBootstrap = buildGrpcBootstrap({
          node: o.node,
          discoveryAddress: o.discoveryAddress,
          ...(o.outputCerts ? { certDir: o.outputCerts } : {}),
        });
        await mkdir(path.dirname(o.grpcBootstrap), { recursive: true });
        await writeFile(o.grpcBootstrap, `${JSON.stringify(grpcBootstrap, null, 2)}\n`);
      }
      started = true;
      let hasEnvoy = false;
      try {
        accessSync(o.binaryPath, constants.X_OK);
        hasEnvoy = true;
      } catch {
        log.info({ binaryPath: o.binaryPath }, 'no Envoy binary: serving certificates and bootstraps only');
      }
      if (hasEnvoy) {
        envoy = createEnvoyRunner({
          binaryPath: o.binaryPath,
          configFile: writeBootstrap,
          serviceCluster: o.node.cluster,
          serviceNode: o.node.id,
          drainDurationMs: o.drainDurationMs,
          parentShutdownDurationMs: o.parentShutdownDurationMs,
          logLevel: o.proxyLogLevel,
          componentLogLevel: o.proxyComponentLogLevel,
          concurrency: o.concurrency,
          adminPort: o.adminPort,
          ipv6: o.node.ips[0]?.includes(':') ?? false,
          logger: log.child({ part: 'envoy' }),
        });
        await envoy.start();
      }
      return { statusPort, bootstrapFile, envoy: hasEnvoy };
    },
    async stop() {
      await envoy?.stop(o.terminationDrainMs);
      certs.stop();
      await sds.stop();
      await monitoring.stop();
    },
  };
}
