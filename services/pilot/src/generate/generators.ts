// What each generator reads and whether its output is per proxy. The push path derives from these
// declarations which builds a change invalidates (src/push/invalidation.ts); nothing there lists kinds by
// hand. A declaration may over-state what a generator reads (a wasted rebuild), never under-state it (a
// stale config): test/push-invalidation.test.ts enumerates the generators and checks both on a table of
// changes. Kubernetes kinds stand for the push-context indexes built from them (services, endpoints,
// workloads, namespace labels).
import { applyClientLoadBalancer } from './client-lb.js';
import { buildClusters, inboundClusters } from './clusters.js';
import { buildEndpoints } from './endpoints.js';
import { applyEnvoyFilters } from './envoyfilter.js';
import { buildGatewayListeners } from './gateway.js';
import { buildGatewayRoutes } from './gateway-routes.js';
import { buildGrpcListeners, buildGrpcRoutes } from './grpc.js';
import { buildGrpcServerListeners } from './grpc-server.js';
import { buildSidecarListeners, virtualInboundListener } from './listeners.js';
import { buildInboundListeners, sidecarIngressClusters } from './listeners-inbound.js';
import { buildOutboundListeners } from './listeners-outbound.js';
import { applyLocalityLb } from './locality-lb.js';
import { buildHttpRoutes } from './route-translate.js';
import { buildSidecarRoutes } from './routes.js';

/** Config kinds generators may read. */
export const CONFIG_KINDS = [
  'VirtualService',
  'DestinationRule',
  'Gateway',
  'ServiceEntry',
  'Sidecar',
  'EnvoyFilter',
  'Policy',
  'MeshPolicy',
  'ServiceRole',
  'ServiceRoleBinding',
  'ClusterRbacConfig',
  'RbacConfig',
  'AuthorizationPolicy',
  'Service',
  'Endpoints',
  'Pod',
  'Namespace',
] as const;
export type ConfigKind = (typeof CONFIG_KINDS)[number];

export interface GeneratorDeclaration {
  name: string;
  fn: (...args: never[]) => unknown;
  /** Which xDS type it produces (`all`: it rewrites any of them). */
  output: 'clusters' | 'endpoints' | 'listeners' | 'routes' | 'all';
  /**
   * For a splitting sidecar: `scope` output is shared by every proxy of its scope, `own` output is the
   * proxy's inbound part. `keyed`: gateways, proxyless clients, patched or Mixer-wired proxies (one build
   * per full config key).
   */
  part: 'scope' | 'own' | 'keyed';
  reads: readonly ConfigKind[];
  /** True when the output depends on the proxy itself (identity, instances, labels), not only its scope. */
  perProxy: boolean;
}

const SERVICES: readonly ConfigKind[] = ['ServiceEntry', 'Service', 'Endpoints', 'Pod', 'Namespace'];
const AUTHN: readonly ConfigKind[] = ['Policy', 'MeshPolicy'];
const RBAC: readonly ConfigKind[] = [
  'ServiceRole',
  'ServiceRoleBinding',
  'ClusterRbacConfig',
  'RbacConfig',
  'AuthorizationPolicy',
];

export const GENERATORS: readonly GeneratorDeclaration[] = [
  {
    name: 'buildClusters',
    fn: buildClusters,
    output: 'clusters',
    part: 'scope',
    reads: ['DestinationRule', 'Sidecar', ...AUTHN, ...SERVICES],
    perProxy: false,
  },
  {
    name: 'buildEndpoints',
    fn: buildEndpoints,
    output: 'endpoints',
    part: 'scope',
    reads: ['DestinationRule', 'Sidecar', ...SERVICES],
    perProxy: false,
  },
  {
    name: 'buildOutboundListeners',
    fn: buildOutboundListeners,
    output: 'listeners',
    part: 'scope',
    reads: ['VirtualService', 'DestinationRule', 'Sidecar', ...AUTHN, ...SERVICES],
    perProxy: false,
  },
  {
    name: 'buildSidecarListeners',
    fn: buildSidecarListeners,
    output: 'listeners',
    part: 'scope',
    reads: ['VirtualService', 'DestinationRule', 'Sidecar', ...AUTHN, ...RBAC, ...SERVICES],
    perProxy: true,
  },
  {
    name: 'buildSidecarRoutes',
    fn: buildSidecarRoutes,
    output: 'routes',
    part: 'scope',
    reads: ['VirtualService', 'DestinationRule', 'Sidecar', ...SERVICES],
    perProxy: false,
  },
  {
    name: 'buildHttpRoutes',
    fn: buildHttpRoutes,
    output: 'routes',
    part: 'scope',
    reads: ['VirtualService', 'DestinationRule', ...SERVICES],
    perProxy: false,
  },
  {
    name: 'inboundClusters',
    fn: inboundClusters,
    output: 'clusters',
    part: 'own',
    reads: ['DestinationRule', 'Sidecar', ...AUTHN, ...SERVICES],
    perProxy: true,
  },
  {
    name: 'sidecarIngressClusters',
    fn: sidecarIngressClusters,
    output: 'clusters',
    part: 'keyed',
    reads: ['Sidecar', ...SERVICES],
    perProxy: true,
  },
  {
    name: 'buildInboundListeners',
    fn: buildInboundListeners,
    output: 'listeners',
    part: 'own',
    reads: ['DestinationRule', 'Sidecar', ...AUTHN, ...RBAC, ...SERVICES],
    perProxy: true,
  },
  {
    name: 'virtualInboundListener',
    fn: virtualInboundListener,
    output: 'listeners',
    part: 'own',
    reads: ['Sidecar', ...AUTHN, ...SERVICES],
    perProxy: true,
  },
  {
    name: 'buildGatewayListeners',
    fn: buildGatewayListeners,
    output: 'listeners',
    part: 'keyed',
    reads: ['Gateway', 'VirtualService', 'DestinationRule', ...AUTHN, ...SERVICES],
    perProxy: true,
  },
  {
    name: 'buildGatewayRoutes',
    fn: buildGatewayRoutes,
    output: 'routes',
    part: 'keyed',
    reads: ['Gateway', 'VirtualService', 'DestinationRule', ...SERVICES],
    perProxy: true,
  },
  {
    name: 'buildGrpcListeners',
    fn: buildGrpcListeners,
    output: 'listeners',
    part: 'keyed',
    reads: ['VirtualService', 'DestinationRule', 'Sidecar', ...AUTHN, ...SERVICES],
    perProxy: true,
  },
  {
    name: 'buildGrpcRoutes',
    fn: buildGrpcRoutes,
    output: 'routes',
    part: 'keyed',
    reads: ['VirtualService', 'DestinationRule', 'Sidecar', ...SERVICES],
    perProxy: true,
  },
  {
    // Inbound listeners of proxyless gRPC servers (xds.istio.io/grpc/lds/inbound/IP:PORT): mTLS mode and RBAC.
    name: 'buildGrpcServerListeners',
    fn: buildGrpcServerListeners,
    output: 'listeners',
    part: 'keyed',
    reads: ['DestinationRule', 'Sidecar', ...AUTHN, ...RBAC, ...SERVICES],
    perProxy: true,
  },
  {
    // Locality priorities and weights inside buildEndpoints; the build key carries the proxy's locality.
    name: 'applyLocalityLb',
    fn: applyLocalityLb,
    output: 'endpoints',
    part: 'scope',
    reads: ['DestinationRule', ...SERVICES],
    perProxy: true,
  },
  {
    // The LB policy in the form each client accepts, inside buildClusters; the client kind is in the scope key.
    name: 'applyClientLoadBalancer',
    fn: applyClientLoadBalancer,
    output: 'clusters',
    part: 'scope',
    reads: ['DestinationRule', ...SERVICES],
    perProxy: false,
  },
  {
    name: 'applyEnvoyFilters',
    fn: applyEnvoyFilters,
    output: 'all',
    part: 'keyed',
    reads: ['EnvoyFilter'],
    perProxy: true,
  },
];
