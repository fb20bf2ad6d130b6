// Gateway selection and merging by port (Istio 1.4 model/gateway.go MergeGateways).

import type { GatewayServer } from '@keel/config';
import { gatewayHttpRouteName, gatewayHttpsRouteName } from '../model/names.js';
import { isHttpProtocol, parseProtocol } from '../model/protocol.js';
import type { ConfigEntry, Protocol, Proxy as ProxyNode, PushContext } from '../model/types.js';
import { labelsSubset } from './route-match.js';

/** A Gateway's server and its TLS block: the normalized shapes from libs/config's model. */
export type { GatewayServer, ServerTlsSettings as ServerTls } from '@keel/config';

/** A server with the gateway it came from (`ns/name`) and its parsed protocol. */
export interface MergedServer {
  server: GatewayServer;
  gateway: string;
  gatewayName: string;
  gatewayNamespace: string;
  protocol: Protocol;
  /** RDS name for HTTP and terminated HTTPS servers, else ''. */
  routeName: string;
}

export interface MergedGateway {
  /** `ns/name` of every gateway applied. */
  names: Set<string>;
  /** Servers by port number, in config order. */
  serversByPort: Map<number, MergedServer[]>;
  /** Servers by RDS name. */
  serversByRouteName: Map<string, MergedServer[]>;
  /** Servers rejected by merge conflicts, as `ns/name: reason` (Istio counts pilot_total_rejected_configs). */
  rejected: string[];
}

/** Passthrough servers forward TLS untouched (no termination, no HTTP routes). */
export function isPassthroughServer(s: GatewayServer): boolean {
  return s.tls?.mode === 'PASSTHROUGH' || s.tls?.mode === 'AUTO_PASSTHROUGH';
}

/** HTTP servers, and HTTPS servers that terminate TLS. */
export function isHttpServer(s: GatewayServer): boolean {
  const p = parseProtocol(s.port.protocol);
  return isHttpProtocol(p) || (p === 'HTTPS' && !!s.tls && !isPassthroughServer(s));
}

/** Servers with TLS settings on a non-HTTP port (httpsRedirect on HTTP does not count). */
export function isTlsServer(s: GatewayServer): boolean {
  return !!s.tls && !isHttpProtocol(parseProtocol(s.port.protocol));
}

function routeNameFor(s: GatewayServer, gw: ConfigEntry): string {
  const p = parseProtocol(s.port.protocol);
  if (isHttpProtocol(p)) return gatewayHttpRouteName(s.port.number);
  if (p === 'HTTPS' && s.tls && !isPassthroughServer(s)) {
    return gatewayHttpsRouteName(s.port.number, s.port.name, gw.name, gw.namespace);
  }
  return '';
}

/** Gateways whose selector is a subset of the proxy labels (optionally only the proxy's namespace). */
export function gatewaysForProxy(
  push: PushContext,
  proxy: ProxyNode,
  scopeToNamespace = false,
): ConfigEntry[] {
  if (proxy.type !== 'router') return [];
  return push
    .configs('Gateway')
    .filter((g) => !scopeToNamespace || g.namespace === proxy.namespace)
    .filter((g) => labelsSubset(g.spec.selector ?? {}, proxy.labels));
}

/** Server hosts without their `ns/` prefix. */
export function bareHost(h: string): string {
  const slash = h.indexOf('/');
  return slash >= 0 ? h.slice(slash + 1) : h;
}

type PortClass = 'http' | 'tls' | 'tcp';

function portClass(p: Protocol, s: GatewayServer): PortClass {
  if (isHttpProtocol(p)) return 'http';
  return s.tls || p === 'HTTPS' || p === 'TLS' ? 'tls' : 'tcp';
}

/** Merges servers by port: one port holds only HTTP, only TLS/HTTPS, or only TCP servers; later conflicts are rejected. */
export function mergeGateways(gateways: readonly ConfigEntry[]): MergedGateway {
  const out: MergedGateway = {
    names: new Set(),
    serversByPort: new Map(),
    serversByRouteName: new Map(),
    rejected: [],
  };
  const classByPort = new Map<number, PortClass>();
  const tlsHostsByPort = new Map<number, Set<string>>();
  for (const gw of gateways) {
    const gateway = `${gw.namespace}/${gw.name}`;
    out.names.add(gateway);
    for (const server of (gw.spec.servers ?? []) as GatewayServer[]) {
      const protocol = parseProtocol(server.port.protocol);
      const cls = portClass(protocol, server);
      const num = server.port.number;
      const existing = classByPort.get(num);
      if (existing && existing !== cls) {
        out.rejected.push(
          `${gateway}: port ${num} ${server.port.protocol} conflicts with existing ${existing} servers`,
        );
        continue;
      }
      if (isTlsServer(server)) {
        const seen = tlsHostsByPort.get(num) ?? new Set<string>();
        const dup = server.hosts.map(bareHost).filter((h) => seen.has(h));
        if (dup.length > 0) {
          out.rejected.push(`${gateway}: port ${num} duplicate TLS hosts ${dup.join(',')}`);
          continue;
        }
        for (const h of server.hosts) seen.add(bareHost(h));
        tlsHostsByPort.set(num, seen);
      }
      classByPort.set(num, cls);
      const merged: MergedServer = {
        server,
        gateway,
        gatewayName: gw.name,
        gatewayNamespace: gw.namespace,
        protocol,
        routeName: routeNameFor(server, gw),
      };
      out.serversByPort.set(num, [...(out.serversByPort.get(num) ?? []), merged]);
      if (merged.routeName) {
        out.serversByRouteName.set(merged.routeName, [
          ...(out.serversByRouteName.get(merged.routeName) ?? []),
          merged,
        ]);
      }
    }
  }
  return out;
}
