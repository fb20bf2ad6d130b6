import { TypeUrl, typed } from '@keel/proto';
import { makeResource, Snapshot, type XdsResource } from '@keel/xds';
import { type MeshSpec, PORT, podIp, serviceRef } from './mesh.js';

const ADS = { ads: {}, resource_api_version: 'V3' };
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';
const ROUTE_NAME = String(PORT);

const clusterName = (host: string, subset = '') => `outbound|${PORT}|${subset}|${host}`;

const RETRY = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,resource-exhausted,retriable-status-codes',
  num_retries: { value: 2 },
  retry_host_predicate: [
    {
      name: 'envoy.retry_host_predicates.previous_hosts',
      typed_config: typed('envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate', {}),
    },
  ],
  host_selection_retry_max_attempts: 5,
  retriable_status_codes: [503],
};

function cluster(name: string): XdsResource {
  return makeResource(TypeUrl.Cluster, name, {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS, service_name: name },
    connect_timeout: { seconds: 10 },
    circuit_breakers: { thresholds: [{ max_connections: { value: 100 }, max_retries: { value: 1024 } }] },
  });
}

function loadAssignment(name: string, ips: string[]): XdsResource {
  return makeResource(TypeUrl.ClusterLoadAssignment, name, {
    cluster_name: name,
    endpoints: [
      {
        locality: {},
        load_balancing_weight: { value: ips.length },
        lb_endpoints: ips.map((ip) => ({
          endpoint: { address: { socket_address: { address: ip, port_value: PORT } } },
          load_balancing_weight: { value: 1 },
        })),
      },
    ],
  });
}

function listener(): XdsResource {
  const name = `0.0.0.0_${PORT}`;
  const hcm = typed(HCM, {
    stat_prefix: name,
    rds: { config_source: ADS, route_config_name: ROUTE_NAME },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: typed(ROUTER, {}) }],
  });
  return makeResource(TypeUrl.Listener, name, {
    name,
    address: { socket_address: { address: '0.0.0.0', port_value: PORT } },
    filter_chains: [
      { filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] },
    ],
  });
}

/** The route table a sidecar of `namespace` gets: same-namespace services also answer to their short name. */
function routes(spec: MeshSpec, timeoutS: number, namespace: string): XdsResource {
  const virtual_hosts = Array.from({ length: spec.services }, (_, i) => {
    const ref = serviceRef(spec, i);
    const routed = i % spec.routedEvery === 0;
    const route = routed
      ? {
          timeout: { seconds: i === 0 ? timeoutS : 10 },
          weighted_clusters: {
            clusters: [
              { name: clusterName(ref.host, 'v1'), weight: { value: 90 } },
              { name: clusterName(ref.host, 'v2'), weight: { value: 10 } },
            ],
          },
        }
      : { cluster: clusterName(ref.host), timeout: { seconds: 0 } };
    // Shaped as Pilot's (Istio 1.4) virtual hosts, so both sides of the ratio send as many bytes: every DNS
    // suffix and the VIP as domains, the default retry policy, a decorator.
    const vip = `172.20.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const names = [ref.host, `${ref.name}.${ref.namespace}.svc.cluster`, `${ref.name}.${ref.namespace}.svc`];
    names.push(`${ref.name}.${ref.namespace}`, vip);
    if (ref.namespace === namespace) names.push(ref.name);
    return {
      name: `${ref.host}:${PORT}`,
      domains: names.flatMap((n) => [n, `${n}:${PORT}`]),
      routes: [
        {
          name: 'default',
          match: { prefix: '/' },
          route: { ...route, retry_policy: RETRY, max_stream_duration: { grpc_timeout_header_max: {} } },
          decorator: { operation: `${ref.host}:${PORT}/*` },
        },
      ],
    };
  });
  return makeResource(TypeUrl.RouteConfiguration, ROUTE_NAME, {
    name: ROUTE_NAME,
    virtual_hosts,
    validate_clusters: { value: false },
  });
}

/**
 * Envoy resources equal in size to what Pilot builds for one sidecar of the mesh: an EDS cluster
 * per service (plus v1/v2 subsets where a DestinationRule exists), their endpoints, one outbound
 * listener and its route table. The route table is one per namespace, as Pilot's (namespace-relative
 * domains), so the baseline sends as many distinct tables as Pilot does, not one frame to everyone.
 * Encoded once; changes re-encode only what they touch.
 */
export class MeshXds {
  private readonly byKey = new Map<string, XdsResource>();
  /** Route tables by namespace, made when a namespace's snapshot is first asked for after a change. */
  private readonly routesByNamespace = new Map<string, XdsResource>();
  private routeTimeoutS = 10;
  private readonly endpointName: string;

  constructor(private readonly spec: MeshSpec) {
    for (let i = 0; i < spec.services; i++) {
      const ref = serviceRef(spec, i);
      const ips = Array.from({ length: spec.podsPerService }, (_, p) => podIp(i, p));
      this.put(cluster(clusterName(ref.host)));
      this.put(loadAssignment(clusterName(ref.host), ips));
      if (i % spec.routedEvery === 0) {
        for (const [p, subset] of ['v1', 'v2'].entries()) {
          this.put(cluster(clusterName(ref.host, subset)));
          this.put(
            loadAssignment(
              clusterName(ref.host, subset),
              ips.filter((_, k) => k % 2 === p),
            ),
          );
        }
      }
    }
    this.put(listener());
    this.endpointName = clusterName(serviceRef(spec, 0).host);
  }

  /** The mesh's namespaces (`serviceRef`'s `ns-<i>`). */
  namespaces(): string[] {
    return Array.from({ length: Math.min(this.spec.namespaces, this.spec.services) }, (_, i) => `ns-${i}`);
  }

  /** A route change (the first routed service's timeout): only RDS differs. */
  setRouteTimeout(seconds: number): void {
    this.routeTimeoutS = seconds;
    this.routesByNamespace.clear();
  }

  /** An endpoint change in the first service: only that ClusterLoadAssignment differs. */
  bumpEndpoint(n: number): void {
    const ips = Array.from({ length: this.spec.podsPerService }, (_, p) => podIp(0, p));
    ips[ips.length - 1] = `10.200.${Math.floor(n / 250)}.${(n % 250) + 1}`;
    this.put(loadAssignment(this.endpointName, ips));
  }

  /** The snapshot of a sidecar in `namespace`. */
  snapshot(namespace: string): Snapshot {
    let table = this.routesByNamespace.get(namespace);
    if (!table) {
      table = routes(this.spec, this.routeTimeoutS, namespace);
      this.routesByNamespace.set(namespace, table);
    }
    return new Snapshot([...this.byKey.values(), table]);
  }

  count(): number {
    return this.byKey.size + 1;
  }

  private put(r: XdsResource): void {
    this.byKey.set(`${r.typeUrl}|${r.name}`, r);
  }
}
