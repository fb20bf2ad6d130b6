// Sidecar outbound per-port listeners (Istio 1.4 buildSidecarOutboundListeners), Envoy v3 shape. Pure.
import { buildSubsetKey, PassthroughCluster } from '../model/names.js';
import { isHttpProtocol, parseProtocol } from '../model/protocol.js';
import { hostMatches } from '../model/scope.js';
import type {
  ConfigEntry,
  Proxy as MeshProxy,
  Protocol,
  PushContext,
  Service,
  ServicePort,
} from '../model/types.js';
import {
  httpConnectionManager,
  httpInspector,
  type ListenerStats,
  listenerFiltersFor,
  orderedHttpFilters,
  portListener,
  tcpProxy,
  withTcpAccessLog,
} from './listeners-common.js';
import { httpAccessLoggers, outboundExtAuthzFilter, tcpAccessLoggers } from './mixer.js';
import { type L4Context, tcpProxyFilter, tcpRouteDestinations, tlsSniRoutes } from './route-l4.js';
import type { EnvoyObject, VirtualServiceSpec } from './route-spec.js';

/** Protocols sniffed on outbound (1.4 default): an HTTP chain on ALPN-like detection plus a TCP fallback. */
const SNIFFED_HTTP_PROTOCOLS = ['http/1.0', 'http/1.1', 'h2c'];

type Kind = 'http' | 'sniff' | 'tcp';

/** One outbound listener being assembled, keyed by `bind:port`. */
interface Entry {
  bind: string;
  port: number;
  kind: Kind;
  /** HTTP: grpc-web seen on this port. TCP: the chains collected so far. */
  grpcWeb: boolean;
  chains: EnvoyObject[];
  /** The services on it (a sniffed port with one service sends its TCP to that service's cluster). */
  services: Service[];
}

/** One Sidecar egress listener (or the implicit catch-all). */
interface Egress {
  port?: { number: number; protocol?: string; name?: string };
  bind?: string;
  hosts: Array<{ namespace: string; host: string }>;
}

function parseHosts(hosts: readonly string[], proxyNs: string): Egress['hosts'] {
  return hosts.map((h) => {
    const i = h.indexOf('/');
    const ns = i >= 0 ? h.slice(0, i) : '*';
    return { namespace: ns === '.' ? proxyNs : ns, host: i >= 0 ? h.slice(i + 1) : h };
  });
}

function egressListeners(sidecar: ConfigEntry | undefined, proxyNs: string): Egress[] {
  const egress = (sidecar?.spec.egress ?? []) as Array<Record<string, any>>;
  if (egress.length === 0) return [{ hosts: [{ namespace: '*', host: '*' }] }];
  return egress.map((e) => ({ port: e.port, bind: e.bind, hosts: parseHosts(e.hosts ?? [], proxyNs) }));
}

function egressSelects(e: Egress, s: Service): boolean {
  return e.hosts.some(
    (h) =>
      (h.namespace === '*' || h.namespace === s.namespace) &&
      (hostMatches(h.host, s.hostname) || hostMatches(s.hostname, h.host)),
  );
}

function kindOf(p: Protocol): Kind | undefined {
  if (p === 'UDP') return undefined;
  if (isHttpProtocol(p)) return 'http';
  if (p === 'Unsupported') return 'sniff';
  return 'tcp';
}

function virtualServicesFor(
  push: PushContext,
  proxy: MeshProxy,
  host: string,
): ConfigEntry<VirtualServiceSpec>[] {
  return push
    .sidecarScope(proxy)
    .virtualServices.filter((vs) =>
      ((vs.spec.hosts ?? []) as string[]).some((h) => hostMatches(h, host)),
    ) as ConfigEntry<VirtualServiceSpec>[];
}

/**
 * Everything the outbound listeners read of VirtualServices: the scope's ones with tcp or tls routes, in
 * scope order (`tcpChains` skips any other). A change to one without them, such as an HTTP weight, leaves
 * the outbound listeners as they were.
 */
export function outboundListenerVirtualServices(push: PushContext, proxy: MeshProxy): readonly ConfigEntry[] {
  return push
    .sidecarScope(proxy)
    .virtualServices.filter((vs) => (vs.spec.tcp?.length ?? 0) > 0 || (vs.spec.tls?.length ?? 0) > 0);
}

/** TCP/TLS chains for one service port: VS tcp/tls routes, else a tcp_proxy to `outbound|port||host`. */
function tcpChains(
  push: PushContext,
  proxy: MeshProxy,
  s: Service,
  port: ServicePort,
  bind: string,
): EnvoyObject[] {
  const ctx: L4Context = { port: port.port, gateways: new Set(['mesh']), proxyLabels: proxy.labels };
  const serviceFor = (h: string) => push.serviceByHost.get(h);
  const tls = port.protocol === 'TLS' || port.protocol === 'HTTPS';
  const logs = tcpAccessLoggers(push, proxy);
  for (const vs of virtualServicesFor(push, proxy, s.hostname)) {
    if (tls) {
      const chains = tlsSniRoutes(vs, ctx)
        .filter((r) => r.route.length > 0)
        .map((r) => ({
          ...(r.sniHosts.length > 0 ? { filter_chain_match: { server_names: r.sniHosts } } : {}),
          filters: [withTcpAccessLog(tcpProxyFilter(vs, r.route, port.port, push.domain, serviceFor), logs)],
        }));
      if (chains.length > 0) return chains;
    }
    const routes = tcpRouteDestinations(vs, port.port, {
      gateways: ctx.gateways,
      proxyLabels: ctx.proxyLabels,
    });
    if (routes && routes.length > 0) {
      return [
        { filters: [withTcpAccessLog(tcpProxyFilter(vs, routes, port.port, push.domain, serviceFor), logs)] },
      ];
    }
  }
  const chain: EnvoyObject = {
    filters: [tcpProxy(buildSubsetKey('outbound', port.port, '', s.hostname), logs)],
  };
  if (tls && bind === '0.0.0.0' && !s.hostname.startsWith('*'))
    chain.filter_chain_match = { server_names: [s.hostname] };
  return [chain];
}

function sameMatch(a: EnvoyObject, b: EnvoyObject): boolean {
  return JSON.stringify(a.filter_chain_match ?? {}) === JSON.stringify(b.filter_chain_match ?? {});
}

/** Adds one service port to the entries, resolving conflicts as Istio 1.4 does (first wins, counted). */
function addServicePort(
  push: PushContext,
  proxy: MeshProxy,
  entries: Map<string, Entry>,
  s: Service,
  port: ServicePort,
  override: { bind?: string; port?: number },
  stats?: ListenerStats,
): void {
  const kind = kindOf(port.protocol);
  if (!kind) return;
  const listenPort = override.port ?? port.port;
  const vip = s.address && s.address !== '0.0.0.0' ? s.address : '0.0.0.0';
  const bind = override.bind ?? (kind === 'tcp' ? vip : '0.0.0.0');
  const key = `${bind}:${listenPort}`;
  const existing = entries.get(key);
  if (kind !== 'tcp') {
    if (existing && existing.kind === 'tcp') {
      if (stats) stats.conflictHttpOverTcp++;
      return;
    }
    const e = existing ?? { bind, port: listenPort, kind, grpcWeb: false, chains: [], services: [] };
    if (port.protocol === 'GRPC-Web') e.grpcWeb = true;
    e.services.push(s);
    entries.set(key, e);
    return;
  }
  if (existing && existing.kind !== 'tcp') {
    if (stats) stats.conflictTcpOverHttp++;
    return;
  }
  const chains = tcpChains(push, proxy, s, port, bind);
  if (existing) {
    if (chains.some((c) => existing.chains.some((x) => sameMatch(c, x)))) {
      if (stats) stats.conflictTcpOverTcp++;
      return;
    }
    existing.chains.push(...chains);
    existing.services.push(s);
    return;
  }
  entries.set(key, { bind, port: listenPort, kind, grpcWeb: false, chains, services: [s] });
}

function httpChain(push: PushContext, proxy: MeshProxy, e: Entry, stats?: ListenerStats): EnvoyObject {
  return {
    filters: [
      httpConnectionManager({
        statPrefix: `outbound_${e.bind}_${e.port}`,
        rdsName: String(e.port),
        httpFilters: orderedHttpFilters({ extAuthz: outboundExtAuthzFilter(push, proxy, stats) }, e.grpcWeb),
        accessLog: httpAccessLoggers(push, proxy),
        inbound: false,
      }),
    ],
  };
}

function entryListener(push: PushContext, proxy: MeshProxy, e: Entry, stats?: ListenerStats): EnvoyObject {
  if (e.kind === 'http') return portListener(e.bind, e.port, 'OUTBOUND', [httpChain(push, proxy, e, stats)]);
  if (e.kind === 'sniff') {
    const http = {
      filter_chain_match: { application_protocols: [...SNIFFED_HTTP_PROTOCOLS] },
      ...httpChain(push, proxy, e, stats),
    };
    const only = e.services.length === 1 ? e.services[0]! : undefined;
    const cluster = only ? buildSubsetKey('outbound', e.port, '', only.hostname) : PassthroughCluster;
    const tcp = { filters: [tcpProxy(cluster, tcpAccessLoggers(push, proxy))] };
    return portListener(e.bind, e.port, 'OUTBOUND', [http, tcp], [httpInspector()]);
  }
  return portListener(e.bind, e.port, 'OUTBOUND', e.chains, listenerFiltersFor(e.chains));
}

/**
 * Outbound listeners for the visible services: HTTP ports share `0.0.0.0_<port>` (RDS `"<port>"`),
 * TCP-family ports get `<VIP>_<port>` (or `0.0.0.0_<port>` without a VIP). Sidecar egress listeners
 * with an explicit port come first and own that port; the catch-all egress takes the rest.
 */
export function buildOutboundListeners(
  push: PushContext,
  proxy: MeshProxy,
  stats?: ListenerStats,
): EnvoyObject[] {
  const scope = push.sidecarScope(proxy);
  const egress = egressListeners(scope.sidecar, proxy.namespace);
  const explicit = egress.filter((e) => e.port);
  const claimed = new Set(explicit.map((e) => e.port!.number));
  const entries = new Map<string, Entry>();
  for (const e of explicit) {
    const protocol = parseProtocol(e.port!.protocol);
    for (const s of scope.services) {
      if (!egressSelects(e, s)) continue;
      const sp = s.ports.find((p) => p.port === e.port!.number) ?? s.ports[0];
      if (!sp) continue;
      const port: ServicePort = { ...sp, protocol: protocol === 'Unsupported' ? sp.protocol : protocol };
      addServicePort(push, proxy, entries, s, port, { bind: e.bind, port: e.port!.number }, stats);
    }
  }
  for (const e of egress.filter((x) => !x.port)) {
    for (const s of scope.services) {
      if (!egressSelects(e, s)) continue;
      for (const p of s.ports) {
        if (!claimed.has(p.port)) addServicePort(push, proxy, entries, s, p, { bind: e.bind }, stats);
      }
    }
  }
  return [...entries.values()].map((e) => entryListener(push, proxy, e, stats));
}
