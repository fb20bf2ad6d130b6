import { EventEmitter } from 'node:events';
import { type FSWatcher, watch } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { type CaBundleReconciler, handleAdmissionHttp, reconcileWebhookCaBundle } from '@keel/kube';
import {
  createMonitoringServer,
  type Logger,
  newRegistry,
  type TlsWatcher,
  watchTlsFiles,
} from '@keel/runtime';
import type { KubeConfig } from '@kubernetes/client-node';
import { type Injector, loadInjector } from './config.js';
import { injectorMetrics } from './metrics.js';
import { reviewInjection } from './review.js';

/** Largest AdmissionReview body accepted (the API server's own request limit is 3 MiB). */
export const MAX_BODY = 4 * 1024 * 1024;

export interface SidecarInjectorOptions {
  host?: string;
  /** HTTPS port of `/inject` (0 picks a free one). */
  port: number;
  monitoringPort: number;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** CA written into the webhook configuration's caBundle; the serving chain when absent. */
  caCertFile?: string;
  /** The ConfigMap's `config` (policy, selectors, template) and `values`, reloaded when they change. */
  configFile: string;
  valuesFile: string;
  meshConfigFile?: string;
  /** When set, the injector keeps its MutatingWebhookConfiguration's caBundle current. */
  kubeConfig?: KubeConfig;
  webhookConfigName?: string;
  webhookName?: string;
  logger: Logger;
  version?: string;
}

export interface SidecarInjector {
  start(): Promise<{ port: number; monitoringPort: number }>;
  stop(): Promise<void>;
  /** The injector serving requests now. */
  current(): Injector;
  /**
   * `config` after a reload of the template files, `certificate` after a certificate reload,
   * `caBundle` after the webhook configuration was brought up to date.
   */
  events: EventEmitter;
}

/** The sidecar injector: HTTPS `/inject` (AdmissionReview v1 and v1beta1), monitoring, reloads. */
export function createSidecarInjector(opts: SidecarInjectorOptions): SidecarInjector {
  const log = opts.logger;
  const registry = newRegistry('sidecar-injector', opts.version);
  const metrics = injectorMetrics(registry);
  const events = new EventEmitter();
  let injector: Injector | undefined;
  let tls: TlsWatcher | undefined;
  let server: Server | undefined;
  let caBundle: CaBundleReconciler | undefined;
  const watchers: FSWatcher[] = [];
  let reloadTimer: NodeJS.Timeout | undefined;
  const monitoring = createMonitoringServer({
    port: opts.monitoringPort,
    ...(opts.host ? { host: opts.host } : {}),
    registry,
    version: opts.version ?? '0.1.0',
    ready: () => server?.listening === true && injector !== undefined,
    logger: log.child({ part: 'monitoring' }),
  });
  const files = {
    configFile: opts.configFile,
    valuesFile: opts.valuesFile,
    ...(opts.meshConfigFile ? { meshConfigFile: opts.meshConfigFile } : {}),
  };

  const reload = async () => {
    const next = await loadInjector(files);
    if (!next.ok) {
      log.error(
        { errors: next.errors },
        'keeping the previous injection template: the new files are invalid',
      );
      return;
    }
    if (injector && next.value.version === injector.version && sameInputs(injector, next.value)) return;
    injector = next.value;
    metrics.configReloads.inc();
    log.info({ version: injector.version }, 'injection template reloaded');
    events.emit('config', injector.version);
  };

  const serve = (body: Buffer, contentType: string | undefined, method: string) =>
    handleAdmissionHttp({ method, contentType, body }, (req) => {
      metrics.requests.inc();
      const r = reviewInjection(injector!, req);
      if (r.outcome === 'injected') metrics.success.inc();
      else if (r.outcome === 'skipped') metrics.skip.inc();
      else metrics.failure.inc();
      if (r.outcome === 'failed') log.warn({ uid: req.uid, reason: r.detail }, 'injection failed');
      else log.debug({ uid: req.uid, outcome: r.outcome, detail: r.detail }, 'admission reviewed');
      return r.decision;
    });

  const handler: Parameters<typeof createServer>[1] = (req, res) => {
    const send = (status: number, body: unknown) => {
      if (status !== 200) metrics.httpError.inc({ status: String(status) });
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/inject' && path !== '/inject/') {
      req.resume();
      return send(404, { error: `no handler for ${path}` });
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY) {
      req.resume();
      res.setHeader('connection', 'close');
      return send(413, { error: `request body larger than ${MAX_BODY} bytes` });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      if (tooLarge) return;
      size += c.length;
      if (size > MAX_BODY) {
        tooLarge = true;
        res.setHeader('connection', 'close');
        send(413, { error: `request body larger than ${MAX_BODY} bytes` });
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (tooLarge) return;
      serve(Buffer.concat(chunks), req.headers['content-type'], req.method ?? 'GET')
        .then((r) => send(r.status, r.body))
        .catch((e: unknown) => {
          log.error({ err: String(e) }, 'webhook handler failed');
          send(500, { error: 'internal error' });
        });
    });
    req.on('error', () => res.destroy());
  };

  return {
    events,
    current: () => {
      if (!injector) throw new Error('the injector has not started');
      return injector;
    },
    async start() {
      const first = await loadInjector(files);
      if (!first.ok) throw new Error(`invalid injection config:\n  ${first.errors.join('\n  ')}`);
      injector = first.value;
      const dirs = new Set(Object.values(files).map((f) => dirname(resolve(f))));
      for (const dir of dirs) {
        watchers.push(
          watch(dir, () => {
            clearTimeout(reloadTimer);
            reloadTimer = setTimeout(() => void reload(), 100);
          }),
        );
      }
      tls = await watchTlsFiles({
        certFile: opts.tlsCertFile,
        keyFile: opts.tlsKeyFile,
        ...(opts.caCertFile ? { caFile: opts.caCertFile } : {}),
        logger: log,
        onChange: (pair) => {
          server?.setSecureContext({ cert: pair.cert, key: pair.key });
          metrics.certReloads.inc();
          caBundle?.update(pair.ca ?? pair.cert);
          events.emit('certificate');
        },
      });
      const pair = tls.current();
      server = createServer({ cert: pair.cert, key: pair.key, keepAliveTimeout: 30_000 }, handler);
      const port = await new Promise<number>((resolvePort, reject) => {
        server!.once('error', reject);
        server!.listen(opts.port, opts.host ?? '0.0.0.0', () => {
          server!.off('error', reject);
          resolvePort((server!.address() as AddressInfo).port);
        });
      });
      if (opts.kubeConfig) {
        const name = opts.webhookConfigName ?? 'istio-sidecar-injector';
        caBundle = reconcileWebhookCaBundle(opts.kubeConfig, {
          kind: 'MutatingWebhookConfiguration',
          name,
          webhooks: [opts.webhookName ?? 'sidecar-injector.istio.io'],
          onPatched: (r) => {
            if (r.patched.length > 0) log.info({ name, webhooks: r.patched }, 'webhook caBundle patched');
            events.emit('caBundle', r.patched);
          },
          onError: (e) =>
            log.warn({ name, error: e.message }, 'patching the webhook caBundle failed; retrying'),
        });
        caBundle.update(pair.ca ?? pair.cert);
      }
      const monitoringPort = (await monitoring.start()).port;
      log.info({ port, monitoringPort, version: injector.version }, 'sidecar injector listening');
      return { port, monitoringPort };
    },
    async stop() {
      clearTimeout(reloadTimer);
      for (const w of watchers) w.close();
      tls?.close();
      caBundle?.close();
      if (server) {
        const closed = new Promise<void>((r) => server!.close(() => r()));
        server.closeAllConnections();
        await closed;
      }
      await monitoring.stop();
    },
  };
}

function sameInputs(a: Injector, b: Injector): boolean {
  return JSON.stringify([a.config, a.values, a.mesh]) === JSON.stringify([b.config, b.values, b.mesh]);
}
