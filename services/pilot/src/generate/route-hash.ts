// DestinationRule consistentHash -> route hash_policy (Istio 1.4 getHashPolicy).
import { protoDurationOf } from '@keel/runtime';
import type { ConfigEntry } from '../model/types.js';
import type { EnvoyObject } from './route-spec.js';

interface ConsistentHash {
  httpHeaderName?: string;
  httpCookie?: { name: string; path?: string; ttl?: string };
  useSourceIp?: boolean;
}

interface TrafficPolicy {
  loadBalancer?: { consistentHash?: ConsistentHash };
  portLevelSettings?: Array<{
    port?: { number?: number };
    loadBalancer?: { consistentHash?: ConsistentHash };
  }>;
}

function consistentHashFor(
  dr: ConfigEntry,
  subset: string | undefined,
  port: number,
): ConsistentHash | undefined {
  const policies: TrafficPolicy[] = [];
  const sub = ((dr.spec.subsets ?? []) as Array<{ name: string; trafficPolicy?: TrafficPolicy }>).find(
    (s) => s.name === subset,
  );
  if (sub?.trafficPolicy) policies.push(sub.trafficPolicy);
  if (dr.spec.trafficPolicy) policies.push(dr.spec.trafficPolicy as TrafficPolicy);
  for (const p of policies) {
    const level = p.portLevelSettings?.find((s) => s.port?.number === port);
    const ch = level?.loadBalancer?.consistentHash ?? p.loadBalancer?.consistentHash;
    if (ch) return ch;
  }
  return undefined;
}

/** hash_policy entry for a destination, or undefined when its DestinationRule has no consistentHash. */
export function hashPolicy(
  dr: ConfigEntry | undefined,
  subset: string | undefined,
  port: number,
): EnvoyObject | undefined {
  if (!dr) return undefined;
  const ch = consistentHashFor(dr, subset, port);
  if (!ch) return undefined;
  if (ch.httpHeaderName) return { header: { header_name: ch.httpHeaderName } };
  if (ch.httpCookie) {
    const cookie: EnvoyObject = { name: ch.httpCookie.name };
    if (ch.httpCookie.path) cookie.path = ch.httpCookie.path;
    const ttl = protoDurationOf(ch.httpCookie.ttl);
    if (ttl) cookie.ttl = ttl;
    return { cookie };
  }
  if (ch.useSourceIp) return { connection_properties: { source_ip: true } };
  return undefined;
}
