import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeResponse {
  status: number;
  /** Parsed JSON body, or undefined when the body was empty or not JSON. */
  body: unknown;
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query, e.g. `/api/v1/services?labelSelector=a%3Db`. */
  path: string;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

/**
 * One raw JSON call to the API server of `kc`'s current cluster, with its TLS and credentials.
 * Resolves with any HTTP status; rejects only on transport failure.
 */
export async function kubeRequest(kc: KubeConfig, req: KubeRequest): Promise<KubeResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const target = new URL(cluster.server.replace(/\/$/, '') + req.path);
  const opts: https.RequestOptions = { method: req.method, headers: {} };
  await kc.applyToHTTPSOptions(opts);
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const headers: http.OutgoingHttpHeaders = {
    ...(opts.headers as http.OutgoingHttpHeaders),
    accept: 'application/json',
  };
  if (payload) {
    headers['content-type'] = req.contentType ?? 'application/json';
    headers['content-length'] = payload.length;
  }
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise<KubeResponse>((resolve, reject) => {
    const r = lib.request(target, { ...opts, headers, timeout: req.timeoutMs ?? 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    r.on('timeout', () => r.destroy(new Error(`request timed out: ${req.method} ${req.path}`)));
    r.on('error', reject);
    r.end(payload);
  });
}
