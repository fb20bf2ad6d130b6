import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ConfigError, kindFor, type ResourceLimits, toResource, validateResource } from '@keel/config';
import { type AdmissionDecision, type AdmissionRequest, handleAdmissionHttp } from '@keel/kube';
import type { Logger } from '@keel/runtime';
import type { Counter } from 'prom-client';

export type WebhookName = 'pilot' | 'mixer';

const PATHS: Record<string, WebhookName> = { '/admitpilot': 'pilot', '/admitmixer': 'mixer' };
const MAX_BODY = 4 * 1024 * 1024;

export interface WebhookMetrics {
  passed: Counter<'group' | 'version' | 'resource'>;
  failed: Counter<'group' | 'version' | 'resource' | 'reason'>;
  httpError: Counter<'status'>;
}

function describe(errors: ConfigError[]): string {
  return errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
}

/** Decides one AdmissionRequest for the named webhook with the same validation Galley applies to every source. */
export function reviewConfig(
  webhook: WebhookName,
  req: AdmissionRequest,
  metrics?: WebhookMetrics,
  limits?: ResourceLimits,
): AdmissionDecision {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return { allowed: true };
  const obj = req.object as Record<string, unknown> | undefined;
  if (!obj || typeof obj !== 'object')
    return { allowed: false, message: 'configuration is invalid: request has no object' };
  const apiVersion = String(obj.apiVersion ?? '');
  const kind = String(obj.kind ?? '');
  const info = kindFor(apiVersion, kind);
  if (!info || info.webhook !== webhook) {
    return {
      allowed: false,
      message: `configuration is invalid: unrecognized type ${kind} (${apiVersion}) for ${webhook}.validation.istio.io`,
    };
  }
  const withNs =
    req.namespace &&
    obj.metadata &&
    typeof obj.metadata === 'object' &&
    !(obj.metadata as Record<string, unknown>).namespace &&
    !info.clusterScoped
      ? { ...obj, metadata: { ...(obj.metadata as Record<string, unknown>), namespace: req.namespace } }
      : obj;
  const converted = toResource(withNs);
  const result =
    'error' in converted
      ? { ok: false as const, errors: [converted.error] }
      : validateResource(converted.resource, limits ? { limits } : {});
  const labels = { group: info.group, version: info.version, resource: info.plural };
  if (result.ok) {
    metrics?.passed.inc(labels);
    return { allowed: true };
  }
  for (const e of result.errors) metrics?.failed.inc({ ...labels, reason: e.code });
  return {
    allowed: false,
    message: `configuration is invalid: ${describe(result.errors)}`,
    reason: 'BadRequest',
  };
}

export interface WebhookServer {
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
  /** Swaps the serving certificate without a restart. */
  setCertificate(cert: string | Buffer, key: string | Buffer): void;
}

/** HTTPS server for `/admitpilot` and `/admitmixer` (AdmissionReview v1 and v1beta1) plus `/ready`. */
export function createWebhookServer(opts: {
  port: number;
  host?: string;
  cert: string | Buffer;
  key: string | Buffer;
  logger: Logger;
  metrics?: WebhookMetrics;
  limits?: ResourceLimits;
}): WebhookServer {
  // A body holds one object (twice in an UPDATE) plus the review around it.
  const maxBody = Math.max(MAX_BODY, 2 * (opts.limits?.maxBytes ?? 0) + 64 * 1024);
  const server: Server = createServer({ cert: opts.cert, key: opts.key }, (req, res) => {
    const url = (req.url ?? '/').split('?')[0]!;
    const send = (status: number, body: unknown): void => {
      if (status !== 200) opts.metrics?.httpError.inc({ status: String(status) });
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (url === '/ready') return send(200, { ready: true });
    const webhook = PATHS[url];
    if (!webhook) return send(404, { error: `no handler for ${url}` });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) {
        send(413, { error: 'request body too large' });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size > maxBody) return;
      handleAdmissionHttp(
        {
          method: req.method ?? 'GET',
          contentType: req.headers['content-type'],
          body: Buffer.concat(chunks),
        },
        (ar) => reviewConfig(webhook, ar, opts.metrics, opts.limits),
      )
        .then((r) => send(r.status, r.body))
        .catch((err) => {
          opts.logger.error({ err: String(err) }, 'webhook handler failed');
          send(500, { error: 'internal error' });
        });
    });
    req.on('error', () => res.destroy());
  });
  return {
    start() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
          server.off('error', reject);
          resolve({ port: (server.address() as AddressInfo).port });
        });
      });
    },
    stop() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    setCertificate(cert, key) {
      server.setSecureContext({ cert, key });
    },
  };
}
