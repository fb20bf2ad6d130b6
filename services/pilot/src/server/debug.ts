// /debug/* views (spec section 1.7), served on the HTTP port and the monitoring port alike.
import type { PilotConfigDumpReply, ProxySyncStatus } from '@keel/bus';
import { bytesToProtoJson, TypeUrl, typeNameOf } from '@keel/proto';
import { err, ok, type Result } from '@keel/runtime';
import type { SnapshotCache, StreamInfo, TypeStatus, XdsServer } from '@keel/xds';
import type { FastifyInstance } from 'fastify';
import type { ProxyPusher } from '../push/pusher.js';
import type { ConfigStore } from './config-store.js';

/** What the debug views read; owned by the pilot, read-only here except `triggerPush`. */
export interface DebugContext {
  version: string;
  xds: XdsServer;
  cache: SnapshotCache;
  pusher: ProxyPusher;
  store: ConfigStore;
  ready(): boolean;
  /** Queues a full push (`POST /debug/adsz?push=1`). */
  triggerPush(): void;
  /** Least time between two pushes forced over HTTP (default FORCED_PUSH_INTERVAL_MS). */
  forcedPushIntervalMs?: number;
}

/** A forced full push costs as much as a config change for every proxy: at most one per this long. */
export const FORCED_PUSH_INTERVAL_MS = 5000;

/** One proxy's sync state (Istio's SyncStatus: nonces sent and ACKed per type). */
export interface SyncStatus {
  proxy: string;
  proxy_version?: string;
  istio_version: string;
  cluster_sent: string;
  cluster_acked: string;
  listener_sent: string;
  listener_acked: string;
  route_sent: string;
  route_acked: string;
  endpoint_sent: string;
  endpoint_acked: string;
  last_nack?: { type: string; nonce: string; version: string; error: string; at: string };
}

const SHORT: Record<string, 'cluster' | 'endpoint' | 'listener' | 'route'> = {
  [TypeUrl.Cluster]: 'cluster',
  [TypeUrl.ClusterLoadAssignment]: 'endpoint',
  [TypeUrl.Listener]: 'listener',
  [TypeUrl.RouteConfiguration]: 'route',
};

/** Per node: the type states of all its streams merged (per-type services use one stream per type). */
function typesByNode(
  streams: readonly StreamInfo[],
): Map<string, { stream: StreamInfo; types: Record<string, TypeStatus> }> {
  const out = new Map<string, { stream: StreamInfo; types: Record<string, TypeStatus> }>();
  for (const s of streams) {
    const entry = out.get(s.node.id) ?? { stream: s, types: {} };
    Object.assign(entry.types, s.types);
    out.set(s.node.id, entry);
  }
  return out;
}

/** /debug/syncz: one entry per connected node, sorted by node id. */
export function syncz(ctx: DebugContext): SyncStatus[] {
  const out: SyncStatus[] = [];
  for (const [proxy, { stream, types }] of typesByNode(ctx.xds.streams())) {
    const s: SyncStatus = {
      proxy,
      istio_version: ctx.version,
      cluster_sent: '',
      cluster_acked: '',
      listener_sent: '',
      listener_acked: '',
      route_sent: '',
      route_acked: '',
      endpoint_sent: '',
      endpoint_acked: '',
    };
    const pv = stream.node.metadata.ISTIO_VERSION;
    if (typeof pv === 'string') s.proxy_version = pv;
    for (const [typeUrl, t] of Object.entries(types)) {
      const short = SHORT[typeUrl];
      if (!short) continue;
      s[`${short}_sent`] = t.nonceSent;
      s[`${short}_acked`] = t.nonceAcked;
      if (t.lastNack && (!s.last_nack || t.lastNack.at > s.last_nack.at))
        s.last_nack = { type: typeUrl, ...t.lastNack };
    }
    out.push(s);
  }
  return out.sort((a, b) => a.proxy.localeCompare(b.proxy));
}

/** keelctl proxy-status words: SYNCED, NOT SENT or STALE (sent and not yet, or never, ACKed). */
export function syncWord(sent: string, acked: string): string {
  if (sent === '') return 'NOT SENT';
  return sent === acked ? 'SYNCED' : 'STALE';
}

/** The bus form of syncz: each entry keeps every syncz field and adds cds/lds/eds/rds words. */
export function proxyStatuses(ctx: DebugContext): Array<ProxySyncStatus & SyncStatus> {
  return syncz(ctx).map((s) => ({
    ...s,
    cds: syncWord(s.cluster_sent, s.cluster_acked),
    lds: syncWord(s.listener_sent, s.listener_acked),
    eds: syncWord(s.endpoint_sent, s.endpoint_acked),
    rds: syncWord(s.route_sent, s.route_acked),
    ...(s.proxy_version ? { version: s.proxy_version } : {}),
  }));
}

/** /debug/adsz: connected nodes, their streams and the resource names of their snapshots. */
export function adsz(ctx: DebugContext): unknown[] {
  const streams = ctx.xds.streams();
  return [...ctx.pusher.proxies.values()].map((p) => {
    const snapshot = ctx.cache.getSnapshot(p.nodeId);
    const resources: Record<string, string[]> = {};
    for (const [typeUrl, short] of Object.entries(SHORT)) {
      resources[short] = snapshot ? [...snapshot.resources(typeUrl).keys()] : [];
    }
    return {
      node: p.nodeId,
      proxy: p.proxy?.id,
      connectedAt: p.connectedAt,
      configKey: p.key,
      streams: streams
        .filter((s) => s.node.id === p.nodeId)
        .map((s) => ({ id: s.id, kind: s.kind, connectedAt: s.connectedAt, types: s.types })),
      resources,
    };
  });
}

const DUMP_TYPES = [
  ['envoy.admin.v3.ClustersConfigDump', TypeUrl.Cluster],
  ['envoy.admin.v3.EndpointsConfigDump', TypeUrl.ClusterLoadAssignment],
  ['envoy.admin.v3.ListenersConfigDump', TypeUrl.Listener],
  ['envoy.admin.v3.RoutesConfigDump', TypeUrl.RouteConfiguration],
] as const;

/** Envoy admin ConfigDump (v3 JSON) of what Pilot serves the proxy `<pod>.<ns>` (or a full node id). */
export function configDump(ctx: DebugContext, proxyID: string): Result<object, string> {
  const entry = [...ctx.pusher.proxies.values()].find((p) => p.proxy?.id === proxyID || p.nodeId === proxyID);
  const snapshot = entry ? ctx.cache.getSnapshot(entry.nodeId) : undefined;
  if (!entry || !snapshot) return err(`proxy "${proxyID}" is not connected to this pilot`);
  const configs = DUMP_TYPES.map(([dumpType, typeUrl]) => {
    const version_info = snapshot.version(typeUrl);
    const items = [...snapshot.resources(typeUrl).values()].map((r) => ({
      name: r.name,
      any: { '@type': r.typeUrl, ...(bytesToProtoJson(typeNameOf(r.typeUrl), r.encoded) as object) },
    }));
    const head = { '@type': `type.googleapis.com/${dumpType}` };
    switch (typeUrl) {
      case TypeUrl.Cluster:
        return {
          ...head,
          version_info,
          dynamic_active_clusters: items.map((i) => ({ version_info, cluster: i.any })),
        };
      case TypeUrl.ClusterLoadAssignment:
        return {
          ...head,
          dynamic_endpoint_configs: items.map((i) => ({ version_info, endpoint_config: i.any })),
        };
      case TypeUrl.Listener:
        return {
          ...head,
          version_info,
          dynamic_listeners: items.map((i) => ({
            name: i.name,
            active_state: { version_info, listener: i.any },
          })),
        };
      default:
        return { ...head, dynamic_route_configs: items.map((i) => ({ version_info, route_config: i.any })) };
    }
  });
  return ok({ configs });
}

/** NATS replies stay under the server's default 1 MB payload limit. */
const MAX_DUMP_REPLY = 900_000;

/** keel.pilot.config_dump: the config dump of `req.proxyID` (`<pod>.<ns>` or a node id), or why not. */
export function configDumpReply(ctx: DebugContext, pilot: string, req: unknown): PilotConfigDumpReply {
  const id =
    typeof (req as { proxyID?: unknown })?.proxyID === 'string' ? (req as { proxyID: string }).proxyID : '';
  if (!id) return { pilot, ok: false, error: 'missing proxyID (<pod>.<namespace>)' };
  const dump = configDump(ctx, id.slice(0, 512));
  if (!dump.ok) return { pilot, ok: false, error: dump.errors };
  const value = dump.value as { configs: Record<string, unknown>[] };
  if (JSON.stringify(value).length > MAX_DUMP_REPLY)
    return { pilot, ok: false, error: `config dump of ${id} is too large for NATS: use /debug/config_dump` };
  return { pilot, ok: true, dump: value };
}

/** Registers /debug/* on `app` (and /ready when `withReady`: the monitoring server has its own). */
export function registerDebugRoutes(app: FastifyInstance, ctx: DebugContext, withReady: boolean): void {
  if (withReady) {
    app.get('/ready', async (_req, reply) => {
      const r = ctx.ready();
      return reply
        .code(r ? 200 : 503)
        .type('text/plain')
        .send(r ? 'ready' : 'not ready');
    });
  }
  app.get('/debug/syncz', async () => syncz(ctx));
  app.get('/debug/adsz', async (req, reply) => {
    if ((req.query as Record<string, string>).push === '1')
      return reply
        .code(405)
        .header('allow', 'POST')
        .send({ error: 'a forced push changes state: use POST /debug/adsz?push=1' });
    return adsz(ctx);
  });
  // Forcing a full push is a state change (POST), rate-limited: a script or crawler polling the
  // URL must not turn into a push storm.
  let lastForced = Number.NEGATIVE_INFINITY;
  app.post('/debug/adsz', async (req, reply) => {
    if ((req.query as Record<string, string>).push !== '1')
      return reply.code(400).send({ error: 'nothing to do: POST /debug/adsz?push=1 forces a full push' });
    const interval = ctx.forcedPushIntervalMs ?? FORCED_PUSH_INTERVAL_MS;
    const now = Date.now();
    const wait = lastForced + interval - now;
    if (wait > 0)
      return reply
        .code(429)
        .header('retry-after', String(Math.ceil(wait / 1000)))
        .send({ error: `a forced push ran less than ${interval} ms ago; retry in ${Math.ceil(wait)} ms` });
    lastForced = now;
    ctx.triggerPush();
    return reply.code(202).send({ pushed: true });
  });
  app.get('/debug/configz', async () => ctx.store.entries());
  app.get('/debug/registryz', async () => ctx.pusher.pushContext()?.services ?? []);
  app.get('/debug/endpointz', async () => {
    const push = ctx.pusher.pushContext();
    if (!push) return [];
    return [...push.endpointsByHost].map(([service, endpoints]) => ({ service, endpoints }));
  });
  app.get('/debug/config_dump', async (req, reply) => {
    const id = (req.query as Record<string, string>).proxyID ?? '';
    if (!id) return reply.code(400).send({ error: 'missing proxyID query parameter (<pod>.<namespace>)' });
    const dump = configDump(ctx, id);
    return dump.ok ? dump.value : reply.code(404).send({ error: dump.errors });
  });
  app.get('/debug/push_status', async () => ({
    ...(ctx.pusher.status() ?? { version: '', proxies: 0 }),
    connected: ctx.pusher.proxies.size,
    xds: ctx.xds.stats(),
  }));
}
