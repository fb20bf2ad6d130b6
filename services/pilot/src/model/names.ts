// Wire names Envoy, tooling and EnvoyFilter match on: one module, Istio 1.4's exact spelling.

export type Direction = 'inbound' | 'outbound';

/** `outbound|9080|v1|reviews.default.svc.cluster.local` (inbound: the subset slot holds the port name). */
export function buildSubsetKey(direction: Direction, port: number, subset: string, host: string): string {
  return `${direction}|${port}|${subset}|${host}`;
}

export interface SubsetKey {
  direction: Direction;
  port: number;
  subset: string;
  host: string;
}

/** Inverse of buildSubsetKey; undefined for names that are not subset keys. */
export function parseSubsetKey(name: string): SubsetKey | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  const [direction, port, subset, host] = parts as [string, string, string, string];
  if (direction !== 'inbound' && direction !== 'outbound') return undefined;
  const n = Number(port);
  if (!Number.isInteger(n)) return undefined;
  return { direction, port: n, subset, host };
}

/** DNS-SRV style key used for SNI: `outbound_.9080_.v1_.reviews.default.svc.cluster.local`. */
export function buildDnsSrvSubsetKey(
  direction: Direction,
  port: number,
  subset: string,
  host: string,
): string {
  return `${direction}_.${port}_.${subset}_.${host}`;
}

export const BlackHoleCluster = 'BlackHoleCluster';
export const PassthroughCluster = 'PassthroughCluster';
export const InboundPassthroughClusterIpv4 = 'InboundPassthroughClusterIpv4';
export const InboundPassthroughClusterIpv6 = 'InboundPassthroughClusterIpv6';

export const VirtualOutboundListenerName = 'virtualOutbound';
export const VirtualInboundListenerName = 'virtualInbound';
export const VirtualInboundPort = 15006;

/** Outbound/inbound per-port listener names: `0.0.0.0_9080`, `10.0.0.5_3306`. */
export function listenerName(bindIp: string, port: number): string {
  return `${bindIp}_${port}`;
}

/** Virtual host name `<host>:<port>`. */
export function virtualHostName(host: string, port: number): string {
  return `${host}:${port}`;
}

export const AllowAnyVirtualHost = 'allow_any';
export const BlockAllVirtualHost = 'block_all';

/** Gateway RDS name for a plain HTTP server: `http.80`. */
export function gatewayHttpRouteName(port: number): string {
  return `http.${port}`;
}

/** Gateway RDS name for a TLS-terminated HTTPS server: `https.443.https.bookinfo-gateway.default`. */
export function gatewayHttpsRouteName(
  port: number,
  portName: string,
  gateway: string,
  namespace: string,
): string {
  return `https.${port}.${portName}.${gateway}.${namespace}`;
}

/** Inbound inline virtual host name `inbound|http|9080`. */
export function inboundVirtualHostName(port: number): string {
  return `inbound|http|${port}`;
}

/** Envoy well-known filter and listener-filter names used in generated config (v3 names). */
export const FilterNames = {
  httpConnectionManager: 'envoy.filters.network.http_connection_manager',
  tcpProxy: 'envoy.filters.network.tcp_proxy',
  networkRbac: 'envoy.filters.network.rbac',
  sniCluster: 'envoy.filters.network.sni_cluster',
  router: 'envoy.filters.http.router',
  fault: 'envoy.filters.http.fault',
  cors: 'envoy.filters.http.cors',
  grpcWeb: 'envoy.filters.http.grpc_web',
  httpRbac: 'envoy.filters.http.rbac',
  jwtAuthn: 'envoy.filters.http.jwt_authn',
  extAuthz: 'envoy.filters.http.ext_authz',
  tlsInspector: 'envoy.filters.listener.tls_inspector',
  originalDst: 'envoy.filters.listener.original_dst',
  httpInspector: 'envoy.filters.listener.http_inspector',
  httpGrpcAccessLog: 'envoy.access_loggers.http_grpc',
  tcpGrpcAccessLog: 'envoy.access_loggers.tcp_grpc',
} as const;

/** Secret names served over SDS by pilot-agent. */
export const SdsDefaultSecret = 'default';
export const SdsRootSecret = 'ROOTCA';

/** Istio 1.4 file-mounted certificate paths. */
export const CertFiles = {
  certChain: '/etc/certs/cert-chain.pem',
  key: '/etc/certs/key.pem',
  root: '/etc/certs/root-cert.pem',
} as const;
