/** Type-URL prefix used by every Any. */
export const TYPE_PREFIX = 'type.googleapis.com/';

/** xDS v3 resource type URLs. */
export const TypeUrl = {
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  Secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  Struct: 'type.googleapis.com/google.protobuf.Struct',
} as const;
export type XdsTypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

/** Envoy message type names (what `lookupType`/`encodeMessage` take): the resources of `TypeUrl` and their parts. */
export const TypeName = {
  Cluster: 'envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
  Listener: 'envoy.config.listener.v3.Listener',
  RouteConfiguration: 'envoy.config.route.v3.RouteConfiguration',
  VirtualHost: 'envoy.config.route.v3.VirtualHost',
  Route: 'envoy.config.route.v3.Route',
  Secret: 'envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;

/** Push order required by xDS: clusters, endpoints, listeners, routes. */
export const XDS_ORDER: readonly string[] = [
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
];

/** Short xDS names for logs, metrics and debug output (cds, eds, lds, rds, sds). */
export function shortTypeName(typeUrl: string): string {
  switch (typeUrl) {
    case TypeUrl.Cluster:
      return 'cds';
    case TypeUrl.ClusterLoadAssignment:
      return 'eds';
    case TypeUrl.Listener:
      return 'lds';
    case TypeUrl.RouteConfiguration:
      return 'rds';
    case TypeUrl.Secret:
      return 'sds';
    default:
      return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
  }
}

/** `type.googleapis.com/a.b.C` -> `a.b.C`. */
export function typeNameOf(typeUrl: string): string {
  const i = typeUrl.lastIndexOf('/');
  return i < 0 ? typeUrl : typeUrl.slice(i + 1);
}

export function typeUrlOf(typeName: string): string {
  return TYPE_PREFIX + typeName.replace(/^\./, '');
}
