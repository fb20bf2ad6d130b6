// Sidecar LDS (Istio 1.4 listener.go): virtualOutbound, virtualInbound, outbound and inbound per-port listeners. Pure.
import { jsonToStruct } from '@keel/proto';
import {
  BlackHoleCluster,
  InboundPassthroughClusterIpv4,
  InboundPassthroughClusterIpv6,
  PassthroughCluster,
  VirtualInboundListenerName,
  VirtualInboundPort,
  VirtualOutboundListenerName,
} from '../model/names.js';
import type { Proxy as MeshProxy, PushContext } from '../model/types.js';
import { byName, type ListenerStats, listenerFiltersFor, originalDst, tcpProxy } from './listeners-common.js';
import { buildInboundListeners } from './listeners-inbound.js';
import { buildOutboundListeners } from './listeners-outbound.js';
import { tcpAccessLoggers } from './mixer.js';
import type { EnvoyObject } from './route-spec.js';
import { allowAnyOutbound } from './routes.js';

export { type ListenerStats, newListenerStats } from './listeners-common.js';
export { sidecarIngressClusters } from './listeners-inbound.js';

/** `virtualOutbound` on 0.0.0.0:<proxyListenPort>: original-dst redirect, else Passthrough/BlackHole per policy. */
export function virtualOutboundListener(push: PushContext, proxy: MeshProxy): EnvoyObject {
  const cluster = allowAnyOutbound(push, proxy) ? PassthroughCluster : BlackHoleCluster;
  return {
    name: VirtualOutboundListenerName,
    address: { socket_address: { address: '0.0.0.0', port_value: push.mesh.proxyListenPort } },
    filter_chains: [{ filters: [tcpProxy(cluster, tcpAccessLoggers(push, proxy))] }],
    use_original_dst: { value: true },
    traffic_direction: 'OUTBOUND',
  };
}

function prefixRange(ip: string): EnvoyObject {
  const v6 = ip.includes(':');
  const any = ip === '0.0.0.0' || ip === '::';
  return { address_prefix: ip, prefix_len: { value: any ? 0 : v6 ? 128 : 32 } };
}

/** Chains of one inbound listener, re-matched on its destination port and bind IP. */
function copiedChains(listener: EnvoyObject): EnvoyObject[] {
  const sock = (listener.address as EnvoyObject).socket_address as { address: string; port_value: number };
  return (listener.filter_chains as EnvoyObject[]).map((c) => ({
    ...c,
    filter_chain_match: {
      ...((c.filter_chain_match ?? {}) as EnvoyObject),
      destination_port: { value: sock.port_value },
      prefix_ranges: [prefixRange(sock.address)],
    },
    metadata: {
      filter_metadata: { pilot_meta: jsonToStruct({ original_listener_name: String(listener.name) }) },
    },
  }));
}

function passthroughChains(proxy: MeshProxy): EnvoyObject[] {
  const out: EnvoyObject[] = [];
  if (proxy.ips.some((ip) => !ip.includes(':')) || proxy.ips.length === 0) {
    out.push({
      filter_chain_match: { prefix_ranges: [prefixRange('0.0.0.0')] },
      filters: [tcpProxy(InboundPassthroughClusterIpv4)],
    });
  }
  if (proxy.ips.some((ip) => ip.includes(':'))) {
    out.push({
      filter_chain_match: { prefix_ranges: [prefixRange('::')] },
      filters: [tcpProxy(InboundPassthroughClusterIpv6)],
    });
  }
  return out;
}

/** `virtualInbound` on 0.0.0.0:15006: every inbound listener's chains, then the inbound passthrough chains. */
export function virtualInboundListener(
  push: PushContext,
  proxy: MeshProxy,
  inbound: readonly EnvoyObject[],
): EnvoyObject {
  const logs = tcpAccessLoggers(push, proxy);
  const passthrough = passthroughChains(proxy).map((c) => ({
    ...c,
    filters: [tcpProxy(String(((c.filters as EnvoyObject[])[0]!.typed_config as EnvoyObject).cluster), logs)],
  }));
  const chains = [...inbound.flatMap(copiedChains), ...passthrough];
  return {
    name: VirtualInboundListenerName,
    address: { socket_address: { address: '0.0.0.0', port_value: VirtualInboundPort } },
    filter_chains: chains,
    listener_filters: listenerFiltersFor(chains, [originalDst()]),
    listener_filters_timeout: { seconds: 0, nanos: 100_000_000 },
    continue_on_listener_filters_timeout: true,
    traffic_direction: 'INBOUND',
  };
}

/**
 * Every listener of an Envoy sidecar, in a fixed order: virtualOutbound, virtualInbound, outbound
 * listeners by name, inbound listeners by name. Other proxy kinds get []. `stats` (optional,
 * caller-owned) receives conflict and skipped-wiring counts.
 */
export function buildSidecarListeners(
  push: PushContext,
  proxy: MeshProxy,
  stats?: ListenerStats,
): EnvoyObject[] {
  if (proxy.type !== 'sidecar' || proxy.generator !== 'envoy') return [];
  const outbound = buildOutboundListeners(push, proxy, stats).sort(byName);
  const inbound = buildInboundListeners(push, proxy, stats).sort(byName);
  const names = new Set<string>();
  const unique = [...outbound, ...inbound].filter((l) => {
    if (names.has(String(l.name))) return false;
    names.add(String(l.name));
    return true;
  });
  const inboundKept = unique.filter((l) => l.traffic_direction === 'INBOUND');
  return [virtualOutboundListener(push, proxy), virtualInboundListener(push, proxy, inboundKept), ...unique];
}
