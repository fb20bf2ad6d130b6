// DestinationRule loadBalancer -> the cluster form a proxyless gRPC client accepts (model/client.ts). Pure.
import { typed } from '@keel/proto';
import type { ClientProfile, Degradation } from '../model/client.js';

type Cluster = Record<string, any>;

const POLICY = {
  least_request: [
    'envoy.load_balancing_policies.least_request',
    'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
  ],
  random: [
    'envoy.load_balancing_policies.random',
    'envoy.extensions.load_balancing_policies.random.v3.Random',
  ],
  round_robin: [
    'envoy.load_balancing_policies.round_robin',
    'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
  ],
} as const;

const entry = (p: keyof typeof POLICY) => ({
  typed_extension_config: { name: POLICY[p][0], typed_config: typed(POLICY[p][1], {}) },
});

/** `load_balancing_policy` listing `wanted` first and round robin as the fallback. */
export function policyWithFallback(wanted: 'least_request' | 'random'): Record<string, unknown> {
  return { policies: [entry(wanted), entry('round_robin')] };
}

const DEFAULT_RING = 1024;

/**
 * Applies `loadBalancer` (camelCase, from a DestinationRule) to a gRPC client's EDS cluster. Never
 * emits what the client NACKs or crashes on; every weaker form is reported through `degrade`:
 * - LEAST_CONN / RANDOM: lb_policy stays ROUND_ROBIN; clients reading `load_balancing_policy`
 *   get `[least_request|random, round_robin]` (they take the first they support).
 * - PASSTHROUGH: the cluster stays EDS round robin (the client already dials endpoint addresses).
 * - consistentHash: RING_HASH with hash_function XX_HASH where the client runs it, else round robin.
 */
export function applyClientLoadBalancer(
  c: Cluster,
  lb: Record<string, any>,
  client: ClientProfile,
  degrade: (d: Pick<Degradation, 'feature' | 'servedAs'>) => void,
): void {
  const simple = lb.simple as string | undefined;
  if (simple === 'LEAST_CONN' || simple === 'RANDOM') {
    const wanted = simple === 'LEAST_CONN' ? 'least_request' : 'random';
    if (client.loadBalancingPolicy) {
      c.load_balancing_policy = policyWithFallback(wanted);
      degrade({
        feature: `loadBalancer ${simple}`,
        servedAs: `load_balancing_policy [${wanted}, round_robin]`,
      });
    } else {
      degrade({ feature: `loadBalancer ${simple}`, servedAs: 'round robin' });
    }
  } else if (simple === 'PASSTHROUGH') {
    degrade({ feature: 'loadBalancer PASSTHROUGH', servedAs: 'round robin over the endpoints (EDS)' });
  }
  if (lb.consistentHash) {
    if (client.ringHash) {
      delete c.load_balancing_policy;
      const min = Number(lb.consistentHash.minimumRingSize ?? 0) || DEFAULT_RING;
      c.lb_policy = 'RING_HASH';
      c.ring_hash_lb_config = { minimum_ring_size: { value: min }, hash_function: 'XX_HASH' };
    } else {
      degrade({ feature: 'loadBalancer consistentHash', servedAs: 'round robin' });
    }
  }
}
