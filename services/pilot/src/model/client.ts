// What an xDS client is (Envoy, grpc-js-xds, gRPC C-core, another gRPC) and what it accepts. Pure.
//
// Read from the node: metadata GENERATOR (`grpc` = proxyless), `user_agent_name`, `user_agent_version`
// and `client_features`. Measured facts (see ../shared/reference/stack.md and docs/clients.md):
// - grpc-js-xds (user agent "gRPC Node Pure JS") takes the first supported entry of
//   Cluster.load_balancing_policy, runs lb_policy ROUND_ROBIN and RING_HASH (hash_function XX_HASH),
//   accepts HeaderMatcher.string_match but NACKs contains.
// - gRPC C-core ("gRPC C-core ..."; Python, C++, Ruby, PHP) ignores load_balancing_policy unless an
//   environment variable is set, NACKs lb_policy LEAST_REQUEST/RANDOM/MAGLEV, crashes (1.51) on the
//   first call through a RING_HASH cluster, and NACKs every HeaderMatcher.string_match form.
// - Other gRPC clients (Go, Java, ...) get the forms every gRPC xDS client accepts: lb_policy
//   ROUND_ROBIN and the legacy HeaderMatcher fields.

/** The kinds of xDS client Pilot encodes for. */
export type ClientKind = 'envoy' | 'grpc-js' | 'grpc-core' | 'grpc';

export interface ClientProfile {
  kind: ClientKind;
  /** `user_agent_name` as sent (may be empty). */
  userAgent: string;
  /** `user_agent_version` as sent (may be empty). */
  version: string;
  /** `client_features` as sent. */
  features: string[];
  /** HeaderMatcher form: v3 `string_match`, or the legacy `exact_match`/`prefix_match`/`safe_regex_match`. */
  headerMatch: 'string_match' | 'legacy';
  /** Reads Cluster.load_balancing_policy (first supported entry wins) without extra configuration. */
  loadBalancingPolicy: boolean;
  /** Accepts and runs lb_policy RING_HASH (with hash_function XX_HASH). */
  ringHash: boolean;
}

/** The node fields the profile is read from. */
export interface ClientNode {
  generator: 'envoy' | 'grpc';
  userAgentName?: string;
  userAgentVersion?: string;
  clientFeatures?: readonly string[];
}

const MAX_FEATURES = 64;
const MAX_TEXT = 256;

/** Node -> profile. Unknown gRPC clients get the most widely accepted forms. */
export function clientProfile(node: ClientNode): ClientProfile {
  const userAgent = (node.userAgentName ?? '').slice(0, MAX_TEXT);
  const version = (node.userAgentVersion ?? '').slice(0, MAX_TEXT);
  const features = (node.clientFeatures ?? [])
    .slice(0, MAX_FEATURES)
    .map((f) => String(f).slice(0, MAX_TEXT));
  const base = { userAgent, version, features };
  if (node.generator !== 'grpc')
    return { ...base, kind: 'envoy', headerMatch: 'string_match', loadBalancingPolicy: true, ringHash: true };
  if (/node pure js|grpc-js/i.test(userAgent))
    return {
      ...base,
      kind: 'grpc-js',
      headerMatch: 'string_match',
      loadBalancingPolicy: true,
      ringHash: true,
    };
  if (/c-core/i.test(userAgent))
    return { ...base, kind: 'grpc-core', headerMatch: 'legacy', loadBalancingPolicy: false, ringHash: false };
  return { ...base, kind: 'grpc', headerMatch: 'legacy', loadBalancingPolicy: false, ringHash: false };
}

/** The profile of a proxy (parsed from its node; derived from the generator when absent). */
export function profileOf(proxy: { generator: 'envoy' | 'grpc'; client?: ClientProfile }): ClientProfile {
  return proxy.client ?? clientProfile({ generator: proxy.generator });
}

/** The part of the profile that changes generated output (for build-sharing keys). */
export function clientKey(p: ClientProfile): string {
  return p.kind === 'envoy' ? 'envoy' : `${p.kind}:${p.headerMatch}:${p.loadBalancingPolicy}:${p.ringHash}`;
}

/** One thing a client lacks, served in a documented weaker form (docs/clients.md). */
export interface Degradation {
  client: ClientKind;
  type: 'cluster' | 'route';
  /** Cluster or RouteConfiguration name. */
  resource: string;
  /** What the config asked for, e.g. `loadBalancer LEAST_CONN`. */
  feature: string;
  /** What the client gets instead, e.g. `round robin`. */
  servedAs: string;
  /** The config object, e.g. `DestinationRule default/reviews`, when known. */
  config?: string;
}

/** A degradation's identity for "once per resource" reporting. */
export function degradationKey(d: Degradation): string {
  return `${d.client}|${d.type}|${d.resource}|${d.feature}|${d.servedAs}`;
}

/**
 * Remembers which degradations were reported, so each is logged and counted once per resource.
 * Bounded: the oldest entries are forgotten first.
 */
export class DegradationReporter {
  private readonly seen = new Set<string>();

  constructor(
    private readonly report: (d: Degradation) => void,
    private readonly max = 10_000,
  ) {}

  /** Reports every degradation not reported before; returns how many were new. */
  observe(list: readonly Degradation[]): number {
    let fresh = 0;
    for (const d of list) {
      const key = degradationKey(d);
      if (this.seen.has(key)) continue;
      if (this.seen.size >= this.max) this.seen.delete(this.seen.values().next().value!);
      this.seen.add(key);
      fresh += 1;
      this.report(d);
    }
    return fresh;
  }
}
