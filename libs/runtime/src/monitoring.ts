import { type FastifyBaseLogger, type FastifyInstance, fastify, LogController } from 'fastify';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { type Logger, silentLogger } from './logger.js';

export interface MonitoringOptions {
  /** Default 15014 (Istio's monitoring port); 0 picks a free one. */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
  registry: Registry;
  version: string;
  /** Backs `/ready`: 200 when true, 503 otherwise (or when it throws). */
  ready?: () => boolean | Promise<boolean>;
  logger?: Logger;
  /** Adds service-specific routes (for example `/debug/*`) before the server starts. */
  routes?: (app: FastifyInstance) => void;
}

export interface MonitoringServer {
  /** Listens; resolves with the bound port. */
  start(): Promise<{ port: number }>;
  /** Stops listening and closes open connections. */
  stop(): Promise<void>;
  app: FastifyInstance;
}

/** A registry with Node process metrics and `istio_build{component, tag}` set to 1. */
export function newRegistry(component: string, version = process.env.KEEL_VERSION ?? '0.1.0'): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const build = new Gauge({
    name: 'istio_build',
    help: 'Build information of this component',
    labelNames: ['component', 'tag'],
    registers: [registry],
  });
  build.set({ component, tag: version }, 1);
  return registry;
}

/** The monitoring HTTP server every service runs: /metrics, /healthz, /ready, /version. */
export function createMonitoringServer(options: MonitoringOptions): MonitoringServer {
  const logger = options.logger ?? silentLogger;
  const ready = options.ready ?? (() => true);
  const app = fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(body);
  });
  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok'));
  app.get('/ready', async (_req, reply) => {
    let isReady = false;
    try {
      isReady = await ready();
    } catch (e) {
      logger.warn({ err: e }, 'readiness check failed');
    }
    return reply
      .code(isReady ? 200 : 503)
      .type('text/plain')
      .send(isReady ? 'ready' : 'not ready');
  });
  app.get('/version', async () => ({ version: options.version, node: process.version }));
  options.routes?.(app);

  return {
    app,
    async start() {
      await app.listen({ port: options.port ?? 15014, host: options.host ?? '0.0.0.0' });
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      logger.info({ port }, 'monitoring server listening');
      return { port };
    },
    async stop() {
      await app.close();
    },
  };
}
