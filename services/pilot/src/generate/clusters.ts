// CDS: outbound, subset, inbound and special clusters for one proxy (Istio 1.4 semantics, Envoy v3 shape).

import { jsonToStruct, typed } from '@keel/proto';
import { protoDurationOf } from '@keel/runtime';
import { type Degradation, profileOf } from '../model/client.js';
import {
  BlackHoleCluster,
  buildDnsSrvSubsetKey,
  buildSubsetKey,
  InboundPassthroughClusterIpv4,
  InboundPassthroughClusterIpv6,
  PassthroughCluster,
} from '../model/names.js';
import { isHttp2Protocol } from '../model/protocol.js';
import type { Proxy as MeshProxy, PushContext, Resolution, Service, ServicePort } from '../model/types.js';
import { authnPolicyFor, peerMode } from './authn.js';
import { applyClientLoadBalancer } from './client-lb.js';
import { endpointsFor, localityLbEndpoints } from './endpoints.js';
import { localityLbSettingFor } from './locality-lb.js';
import { type TlsSettings, upstreamTransportSocket } from './tls.js';

export const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const MAX_UINT32 = 4294967295;

type Cluster = Record<string, any>;
/** A DestinationRule traffic policy (camelCase, as in YAML). */
type TrafficPolicy = Record<string, any>;

function defaultThresholds(): Record<string, unknown> {
  return {
    max_connections: { value: MAX_UINT32 },
    max_pending_requests: { value: MAX_UINT32 },
    max_requests: { value: MAX_UINT32 },
    max_retries: { value: MAX_UINT32 },
  };
}

/** What the cluster builder needs besides the cluster itself; `http` collects HttpProtocolOptions. */
interface BuildState {
  push: PushContext;
  proxy: MeshProxy;
  service: Service;
  port: ServicePort;
  subset: string;
  http: { h2: boolean; downstream: boolean; common: Record<string, unknown> };
  /** Collects what a gRPC client gets in a weaker form (model/client.ts), with the DestinationRule. */
  degraded?: { list: Degradation[]; config: string };
}

function effectiveResolution(service: Service, proxy: MeshProxy): Resolution {
  if (service.resolution === 'Passthrough' && proxy.type === 'router') return 'ClientSideLB';
  return service.resolution;
}

function baseCluster(name: string, st: BuildState): Cluster {
  const c: Cluster = {
    name,
    connect_timeout: protoDurationOf(st.push.mesh.connectTimeout) ?? { seconds: 1, nanos: 0 },
    circuit_breakers: { thresholds: [defaultThresholds()] },
  };
  switch (effectiveResolution(st.service, st.proxy)) {
    case 'ClientSideLB':
      c.type = 'EDS';
      c.eds_cluster_config = { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name };
      break;
    case 'DNSLB':
      c.type = 'STRICT_DNS';
      c.dns_lookup_family = 'V4_ONLY';
      c.dns_refresh_rate = protoDurationOf(st.push.mesh.dnsRefreshRate ?? '5s');
      c.load_assignment = {
        cluster_name: name,
        endpoints: localityLbEndpoints(
          endpointsFor(st.push, st.proxy, st.service.hostname, st.port.port, st.subset),
        ),
      };
      break;
    case 'Passthrough':
      c.type = 'ORIGINAL_DST';
      c.lb_policy = 'CLUSTER_PROVIDED';
      break;
  }
  return c;
}

/** Port-level settings replace the four policy components as a whole (Istio 1.4 selectTrafficPolicyComponents). */
export function policyForPort(
  policy: TrafficPolicy | undefined,
  port: ServicePort,
): TrafficPolicy | undefined {
  if (!policy) return undefined;
  for (const pl of (policy.portLevelSettings ?? []) as TrafficPolicy[]) {
    const sel = pl.port ?? {};
    if (
      (sel.number !== undefined && Number(sel.number) === port.port) ||
      (sel.name && sel.name === port.name)
    ) {
      return pl;
    }
  }
  return policy;
}

function applyConnectionPool(c: Cluster, pool: TrafficPolicy | undefined, st: BuildState): void {
  if (!pool) return;
  const t = defaultThresholds();
  const http = pool.http as Record<string, any> | undefined;
  if (http) {
    if (http.http2MaxRequests > 0) t.max_requests = { value: http.http2MaxRequests };
    if (http.http1MaxPendingRequests > 0) t.max_pending_requests = { value: http.http1MaxPendingRequests };
    if (http.maxRetries > 0) t.max_retries = { value: http.maxRetries };
    if (http.maxRequestsPerConnection > 0) {
      st.http.common.max_requests_per_connection = { value: http.maxRequestsPerConnection };
    }
    const idle = protoDurationOf(http.idleTimeout);
    if (idle) st.http.common.idle_timeout = idle;
  }
  const tcp = pool.tcp as Record<string, any> | undefined;
  if (tcp) {
    const ct = protoDurationOf(tcp.connectTimeout);
    if (ct) c.connect_timeout = ct;
    if (tcp.maxConnections > 0) t.max_connections = { value: tcp.maxConnections };
    const ka = tcp.tcpKeepalive as Record<string, any> | undefined;
    if (ka) {
      const keepalive: Record<string, unknown> = {};
      if (ka.probes > 0) keepalive.keepalive_probes = { value: ka.probes };
      const time = protoDurationOf(ka.time);
      if (time) keepalive.keepalive_time = { value: time.seconds };
      const interval = protoDurationOf(ka.interval);
      if (interval) keepalive.keepalive_interval = { value: interval.seconds };
      c.upstream_connection_options = { tcp_keepalive: keepalive };
    }
  }
  c.circuit_breakers = { thresholds: [t] };
}

function applyOutlierDetection(c: Cluster, od: TrafficPolicy | undefined): void {
  if (!od) return;
  const out: Record<string, unknown> = {};
  const base = protoDurationOf(od.baseEjectionTime);
  if (base) out.base_ejection_time = base;
  if (od.consecutiveErrors > 0) {
    out.consecutive_gateway_failure = { value: od.consecutiveErrors };
    out.enforcing_consecutive_gateway_failure = { value: 100 };
    out.enforcing_consecutive_5xx = { value: 0 };
  }
  const interval = protoDurationOf(od.interval);
  if (interval) out.interval = interval;
  if (od.maxEjectionPercent > 0) out.max_ejection_percent = { value: od.maxEjectionPercent };
  c.outlier_detection = out;
  c.common_lb_config = {
    ...(c.common_lb_config ?? {}),
    healthy_panic_threshold: { value: od.minHealthPercent ?? 0 },
  };
}

const SIMPLE_LB: Record<string, string> = {
  ROUND_ROBIN: 'ROUND_ROBIN',
  LEAST_CONN: 'LEAST_REQUEST',
  RANDOM: 'RANDOM',
};

function applyLoadBalancer(c: Cluster, lb: TrafficPolicy | undefined, st: BuildState): void {
  if (!lb) return;
  if (st.proxy.generator === 'grpc') {
    const client = profileOf(st.proxy);
    applyClientLoadBalancer(c, lb, client, (d) =>
      st.degraded?.list.push({
        client: client.kind,
        type: 'cluster',
        resource: String(c.name),
        ...d,
        config: st.degraded.config,
      }),
    );
    return;
  }
  if (lb.simple === 'PASSTHROUGH') {
    c.type = 'ORIGINAL_DST';
    c.lb_policy = 'CLUSTER_PROVIDED';
    delete c.eds_cluster_config;
    delete c.load_assignment;
    delete c.dns_lookup_family;
    delete c.dns_refresh_rate;
  } else if (lb.simple && SIMPLE_LB[lb.simple]) {
    c.lb_policy = SIMPLE_LB[lb.simple];
  }
  if (lb.consistentHash) {
    c.lb_policy = 'RING_HASH';
    c.ring_hash_lb_config = { minimum_ring_size: { value: Number(lb.consistentHash.minimumRingSize ?? 0) } };
  }
}

function istioTarget(st: BuildState) {
  return {
    proxy: st.proxy,
    mesh: st.push.mesh,
    host: st.service.hostname,
    istioSni: buildDnsSrvSubsetKey('outbound', st.port.port, st.subset, st.service.hostname),
    serviceAccounts: st.service.serviceAccounts,
    http2: isHttp2Protocol(st.port.protocol),
  };
}

function applyTls(c: Cluster, tls: TlsSettings | undefined, st: BuildState): void {
  // gRPC clients do TLS only through bootstrap certificate providers: ISTIO_MUTUAL (or none).
  if (!tls || (st.proxy.generator === 'grpc' && tls.mode !== 'ISTIO_MUTUAL' && tls.mode !== 'DISABLE'))
    return;
  const socket = upstreamTransportSocket(tls, istioTarget(st));
  if (socket) c.transport_socket = socket;
  else delete c.transport_socket;
}

/**
 * Auto-mTLS (mesh `enableAutoMtls`, Istio 1.4) for a cluster whose DestinationRule sets no TLS mode:
 * when the destination port's authentication policy has mTLS, Envoy gets ISTIO_MUTUAL for endpoints
 * labelled `security.istio.io/tlsMode: istio` (transport_socket_matches on the EDS metadata) and
 * plaintext for the rest. gRPC clients have no transport socket matches: they get ISTIO_MUTUAL when
 * the policy is STRICT (proxyless servers serve PERMISSIVE as plaintext).
 */
function applyAutoMtls(c: Cluster, st: BuildState): void {
  if (!st.push.mesh.enableAutoMtls || st.service.meshExternal || c.type === 'ORIGINAL_DST') return;
  const mode = peerMode(authnPolicyFor(st.push, st.service, st.port));
  if (mode === 'NONE') return;
  const socket = upstreamTransportSocket({ mode: 'ISTIO_MUTUAL' }, istioTarget(st));
  if (st.proxy.generator === 'grpc') {
    if (mode === 'STRICT') c.transport_socket = socket;
    return;
  }
  c.transport_socket_matches = [
    { name: 'tlsMode-istio', match: jsonToStruct({ tlsMode: 'istio' }), transport_socket: socket },
    { name: 'tlsMode-disabled', match: {}, transport_socket: RAW_BUFFER },
  ];
}

/** Envoy honours locality weights (`distribute`) only with locality_weighted_lb_config; gRPC always does. */
function localityWeighted(c: Cluster, st: BuildState, top?: TrafficPolicy, own?: TrafficPolicy): void {
  if (st.proxy.generator !== 'envoy') return;
  if ((localityLbSettingFor(st.push, top, own)?.distribute ?? []).length === 0) return;
  c.common_lb_config = { ...(c.common_lb_config ?? {}), locality_weighted_lb_config: {} };
}

const RAW_BUFFER = {
  name: 'envoy.transport_sockets.raw_buffer',
  typed_config: typed('envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer', {}),
};

const tlsOf = (policy: TrafficPolicy | undefined, port: ServicePort) => policyForPort(policy, port)?.tls;

/** Applies one traffic policy (already narrowed to the port) to the cluster under construction. */
function applyTrafficPolicy(c: Cluster, policy: TrafficPolicy | undefined, st: BuildState): void {
  const p = policyForPort(policy, st.port);
  if (!p) return;
  applyConnectionPool(c, p.connectionPool, st);
  applyOutlierDetection(c, p.outlierDetection);
  applyLoadBalancer(c, p.loadBalancer, st);
  applyTls(c, p.tls, st);
}

/** Puts the collected HTTP options into typed_extension_protocol_options (v3 home of http2/idle options). */
function finishHttpOptions(c: Cluster, st: BuildState): Cluster {
  const { h2, downstream, common } = st.http;
  const hasCommon = Object.keys(common).length > 0;
  if (!h2 && !downstream && !hasCommon) return c;
  let protocol: Record<string, unknown>;
  if (downstream)
    protocol = { use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } };
  else if (h2) protocol = { explicit_http_config: { http2_protocol_options: {} } };
  else protocol = { explicit_http_config: { http_protocol_options: {} } };
  const options = { ...(hasCommon ? { common_http_protocol_options: common } : {}), ...protocol };
  c.typed_extension_protocol_options = { [HTTP_PROTOCOL_OPTIONS]: typed(HTTP_PROTOCOL_OPTIONS, options) };
  return c;
}

function newState(
  push: PushContext,
  proxy: MeshProxy,
  service: Service,
  port: ServicePort,
  subset: string,
): BuildState {
  return {
    push,
    proxy,
    service,
    port,
    subset,
    http: {
      h2: isHttp2Protocol(port.protocol),
      downstream: port.protocol === 'Unsupported' && proxy.generator === 'envoy',
      common: {},
    },
  };
}

/** The default cluster of one service port plus one cluster per DestinationRule subset. */
export function outboundClustersForPort(
  push: PushContext,
  proxy: MeshProxy,
  service: Service,
  port: ServicePort,
  degraded?: Degradation[],
): Cluster[] {
  const dr = push.sidecarScope(proxy).destinationRule(service.hostname);
  const policy = dr?.spec.trafficPolicy as TrafficPolicy | undefined;
  const withDegraded = (st: BuildState) =>
    degraded && dr
      ? { ...st, degraded: { list: degraded, config: `DestinationRule ${dr.namespace}/${dr.name}` } }
      : st;
  const st = withDegraded(newState(push, proxy, service, port, ''));
  const main = baseCluster(buildSubsetKey('outbound', port.port, '', service.hostname), st);
  applyTrafficPolicy(main, policy, st);
  if (!tlsOf(policy, port)) applyAutoMtls(main, st);
  localityWeighted(main, st, policyForPort(policy, port), undefined);
  const out = [finishHttpOptions(main, st)];
  for (const subset of (dr?.spec.subsets ?? []) as Array<{ name: string; trafficPolicy?: TrafficPolicy }>) {
    const sst = withDegraded(newState(push, proxy, service, port, subset.name));
    const c = baseCluster(buildSubsetKey('outbound', port.port, subset.name, service.hostname), sst);
    applyTrafficPolicy(c, policy, sst);
    applyTrafficPolicy(c, subset.trafficPolicy, sst);
    if (!tlsOf(subset.trafficPolicy, port) && !tlsOf(policy, port)) applyAutoMtls(c, sst);
    localityWeighted(c, sst, policyForPort(policy, port), policyForPort(subset.trafficPolicy, port));
    out.push(finishHttpOptions(c, sst));
  }
  return out;
}

function wantsOutbound(service: Service, port: ServicePort, proxy: MeshProxy): boolean {
  if (port.protocol === 'UDP') return false;
  return proxy.generator !== 'grpc' || effectiveResolution(service, proxy) === 'ClientSideLB';
}

/** `inbound|<port>|<portName>|<host>` STATIC clusters to 127.0.0.1:<endpoint port>, one per instance port. */
export function inboundClusters(push: PushContext, proxy: MeshProxy): Cluster[] {
  const byName = new Map<string, Cluster>();
  for (const inst of proxy.serviceInstances) {
    if (inst.servicePort.protocol === 'UDP') continue;
    const name = buildSubsetKey(
      'inbound',
      inst.servicePort.port,
      inst.servicePort.name,
      inst.service.hostname,
    );
    if (byName.has(name)) continue;
    const st = newState(push, proxy, inst.service, inst.servicePort, '');
    st.http.downstream = false;
    const c: Cluster = {
      name,
      type: 'STATIC',
      connect_timeout: protoDurationOf(push.mesh.connectTimeout) ?? { seconds: 1, nanos: 0 },
      circuit_breakers: { thresholds: [defaultThresholds()] },
      load_assignment: {
        cluster_name: name,
        endpoints: [
          {
            locality: {},
            lb_endpoints: [
              {
                endpoint: {
                  address: { socket_address: { address: '127.0.0.1', port_value: inst.endpoint.port } },
                },
              },
            ],
          },
        ],
      },
    };
    byName.set(name, finishHttpOptions(c, st));
  }
  return [...byName.values()];
}

/** BlackHoleCluster; on sidecars also PassthroughCluster and the inbound passthrough clusters. */
export function specialClusters(push: PushContext, proxy: MeshProxy): Cluster[] {
  const connect_timeout = protoDurationOf(push.mesh.connectTimeout) ?? { seconds: 1, nanos: 0 };
  const out: Cluster[] = [{ name: BlackHoleCluster, type: 'STATIC', connect_timeout }];
  if (proxy.type !== 'sidecar') return out;
  const originalDst = (name: string) => ({
    name,
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout,
  });
  out.push(originalDst(PassthroughCluster));
  const bind = (address: string) => ({ source_address: { address, port_value: 0 } });
  if (proxy.ips.some((ip) => !ip.includes(':'))) {
    out.push({ ...originalDst(InboundPassthroughClusterIpv4), upstream_bind_config: bind('127.0.0.6') });
  }
  if (proxy.ips.some((ip) => ip.includes(':'))) {
    out.push({ ...originalDst(InboundPassthroughClusterIpv6), upstream_bind_config: bind('::6') });
  }
  return out;
}

/** Every cluster for the proxy, sorted by name. Proxyless gRPC gets EDS outbound clusters only. */
export function buildClusters(
  push: PushContext,
  proxy: MeshProxy,
  degraded?: Degradation[],
): Record<string, unknown>[] {
  const out: Cluster[] = [];
  for (const service of push.sidecarScope(proxy).services) {
    for (const port of service.ports) {
      if (wantsOutbound(service, port, proxy))
        out.push(...outboundClustersForPort(push, proxy, service, port, degraded));
    }
  }
  if (proxy.generator === 'envoy') {
    if (proxy.type === 'sidecar') out.push(...inboundClusters(push, proxy));
    out.push(...specialClusters(push, proxy));
  }
  return out
    .filter((c) => proxy.generator === 'envoy' || c.type === 'EDS')
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
