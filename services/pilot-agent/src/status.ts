// The agent's status server (15020): /healthz/ready, rewritten application probes under
// /app-health/<container>/livez|readyz, /quitquitquit, and /stats/prometheus (Envoy's plus the agent's).
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/** One rewritten probe from ISTIO_KUBE_APP_PROBERS: `{"/app-health/app/livez": {"httpGet": {...}}}`. */
export interface AppProbe {
  httpGet?: {
    path?: string;
    port: number | string;
    scheme?: string;
    host?: string;
    httpHeaders?: { name: string; value: string }[];
  };
  tcpSocket?: { port: number | string };
  timeoutSeconds?: number;
}

export function parseAppProbers(text: string | undefined): Record<string, AppProbe> {
  if (!text) return {};
  if (text.length > 64 * 1024) throw new Error('ISTIO_KUBE_APP_PROBERS is larger than 64 KiB');
  const parsed = JSON.parse(text) as Record<string, AppProbe>;
  for (const [path, probe] of Object.entries(parsed)) {
    if (!/^\/app-health\/[^/]+\/(livez|readyz)$/.test(path))
      throw new Error(`ISTIO_KUBE_APP_PROBERS: bad path ${path}`);
    if (!probe.httpGet && !probe.tcpSocket)
      throw new Error(`ISTIO_KUBE_APP_PROBERS: ${path} has no httpGet or tcpSocket`);
  }
  return parsed;
}

export interface StatusOptions {
  adminPort: number;
  /** True while Envoy runs (readiness then asks Envoy). */
  envoyRunning: () => boolean;
  /** Agent-side readiness: certificate in hand. */
  agentReady: () => boolean;
  /** Routers: ports that must have an Envoy listener (--applicationPorts). */
  routerPorts?: readonly number[];
  probers: Record<string, AppProbe>;
  registry: Registry;
  onQuit: () => void;
}

async function adminGet(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
  if (res.status !== 200) throw new Error(`Envoy admin ${path}: HTTP ${res.status}`);
  return res.text();
}

/**
 * Envoy is ready once it took (or refused) at least one CDS and one LDS update and is LIVE; a router
 * also needs a listener on each of `routerPorts`.
 */
export async function envoyReady(
  adminPort: number,
  routerPorts: readonly number[] = [],
): Promise<string | undefined> {
  const stats = await adminGet(adminPort, '/stats?usedonly');
  const value = (name: string) =>
    Number(new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(stats)?.[1] ?? 0);
  const cds = value('cluster_manager.cds.update_success') + value('cluster_manager.cds.update_rejected');
  const lds = value('listener_manager.lds.update_success') + value('listener_manager.lds.update_rejected');
  if (cds === 0 || lds === 0) return `config not received from Pilot (cds ${cds}, lds ${lds})`;
  const info = JSON.parse(await adminGet(adminPort, '/server_info')) as { state?: string };
  if (info.state !== 'LIVE') return `Envoy state is ${info.state}`;
  if (routerPorts.length > 0) {
    const listeners = JSON.parse(await adminGet(adminPort, '/listeners?format=json')) as {
      listener_statuses?: { local_address?: { socket_address?: { port_value?: number } } }[];
    };
    const bound = new Set(
      (listeners.listener_statuses ?? []).map((l) => l.local_address?.socket_address?.port_value),
    );
    const missing = routerPorts.filter((p) => !bound.has(p));
    if (missing.length > 0) return `no listener yet on application port(s) ${missing.join(', ')}`;
  }
  return undefined;
}

async function runProbe(probe: AppProbe): Promise<number> {
  const timeout = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const g = probe.httpGet;
    const scheme = (g.scheme ?? 'HTTP').toLowerCase();
    const url = `${scheme}://${g.host ?? '127.0.0.1'}:${g.port}${g.path ?? '/'}`;
    const headers = Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value]));
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeout) });
    await res.arrayBuffer();
    return res.status;
  }
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: Number(probe.tcpSocket!.port), timeout });
    s.once('connect', () => {
      s.destroy();
      resolve(200);
    });
    s.once('error', () => resolve(503));
    s.once('timeout', () => {
      s.destroy();
      resolve(503);
    });
  });
}

/** Adds the status routes to the agent's HTTP server (which also serves /metrics /healthz /ready /version). */
export function registerStatusRoutes(app: FastifyInstance, o: StatusOptions): void {
  app.get('/healthz/ready', async (_req, reply) => {
    const problem = await readinessProblem(o);
    return reply
      .code(problem ? 503 : 200)
      .type('text/plain')
      .send(problem ?? 'ready');
  });
  app.get('/app-health/:container/:kind', async (req, reply) => {
    const probe = o.probers[req.url.split('?')[0]!];
    if (!probe) return reply.code(404).type('text/plain').send(`no probe for ${req.url}`);
    const status = await runProbe(probe).catch(() => 503);
    const ok = status >= 200 && status < 400;
    return reply
      .code(ok ? 200 : 503)
      .type('text/plain')
      .send(ok ? 'ok' : `probe failed with ${status}`);
  });
  app.post('/quitquitquit', async (_req, reply) => {
    setImmediate(o.onQuit);
    return reply.type('text/plain').send('shutting down');
  });
  app.get('/stats/prometheus', async (_req, reply) => {
    const agent = await o.registry.metrics();
    const envoy = o.envoyRunning() ? await adminGet(o.adminPort, '/stats/prometheus').catch(() => '') : '';
    const sep = envoy && !envoy.endsWith('\n') ? '\n' : '';
    return reply.type('text/plain; version=0.0.4').send(`${envoy}${sep}${agent}`);
  });
}

/** Why the proxy is not ready, or undefined when it is. */
export async function readinessProblem(
  o: Pick<StatusOptions, 'agentReady' | 'envoyRunning' | 'adminPort' | 'routerPorts'>,
): Promise<string | undefined> {
  if (!o.agentReady()) return 'no workload certificate yet';
  if (o.envoyRunning()) return envoyReady(o.adminPort, o.routerPorts).catch((e: Error) => e.message);
  return undefined;
}
