// Keel's Mixer wiring: ext_authz -> mixer-policy (Check), gRPC access loggers -> mixer-telemetry (Report). Pure.
import { typed } from '@keel/proto';
import { buildSubsetKey, FilterNames } from '../model/names.js';
import type { Proxy as MeshProxy, MeshView, PushContext, ServiceInstance } from '../model/types.js';
import type { ListenerStats } from './listeners-common.js';
import type { EnvoyObject } from './route-spec.js';

export const EXT_AUTHZ_TYPE = 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
export const EXT_AUTHZ_PER_ROUTE_TYPE = 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute';
export const HTTP_GRPC_ALS_TYPE = 'envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig';
export const TCP_GRPC_ALS_TYPE = 'envoy.extensions.access_loggers.grpc.v3.TcpGrpcAccessLogConfig';
export const MIXER_LOG_NAME = 'keel-mixer';
/** Request headers mixer-telemetry reads (request.* attributes). */
export const MIXER_REQUEST_HEADERS = [
  'x-request-id',
  'user-agent',
  'referer',
  'x-forwarded-for',
  'x-b3-traceid',
];

/** Mesh fields Keel reads beyond MeshView (present when the mesh YAML sets them). */
type MeshExtras = MeshView & { disableClientPolicyChecks?: boolean };

/** `host:port` -> {host, port}; undefined when malformed. */
export function parseServerAddress(server: string | undefined): { host: string; port: number } | undefined {
  if (!server) return undefined;
  const i = server.lastIndexOf(':');
  if (i <= 0) return undefined;
  const port = Number(server.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { host: server.slice(0, i), port };
}

/**
 * The CDS cluster `outbound|<port>||<host>` for a Mixer server, only when that host:port is a
 * service the proxy sees (so the cluster exists in its CDS); undefined otherwise.
 */
export function mixerServerCluster(
  push: PushContext,
  proxy: MeshProxy,
  server: string | undefined,
): string | undefined {
  const addr = parseServerAddress(server);
  if (!addr) return undefined;
  const svc = push.sidecarScope(proxy).services.find((s) => s.hostname === addr.host);
  if (!svc?.ports.some((p) => p.port === addr.port)) return undefined;
  return buildSubsetKey('outbound', addr.port, '', addr.host);
}

export type PolicyCheckMode = 'off' | 'fail-open' | 'fail-close';

/** mesh disablePolicyChecks / policyCheckFailOpen, overridden by `policy.istio.io/check` (metadata, then pod annotation). */
export function policyCheckMode(push: PushContext, proxy: MeshProxy): PolicyCheckMode {
  const setting =
    proxy.metadata['policy.istio.io/check'] ?? proxy.workload?.annotations['policy.istio.io/check'];
  if (setting === 'disable') return 'off';
  if (setting === 'allow-on-error') return 'fail-open';
  if (setting === 'enable') return 'fail-close';
  if (push.mesh.disablePolicyChecks) return 'off';
  return push.mesh.policyCheckFailOpen ? 'fail-open' : 'fail-close';
}

function extAuthz(cluster: string, failOpen: boolean): EnvoyObject {
  return {
    name: FilterNames.extAuthz,
    typed_config: typed(EXT_AUTHZ_TYPE, {
      grpc_service: { envoy_grpc: { cluster_name: cluster }, timeout: { seconds: 1, nanos: 0 } },
      transport_api_version: 'V3',
      failure_mode_allow: failOpen,
    }),
  };
}

function checkFilter(push: PushContext, proxy: MeshProxy, stats?: ListenerStats): EnvoyObject | undefined {
  if (!push.mesh.mixerCheckServer) return undefined;
  const mode = policyCheckMode(push, proxy);
  if (mode === 'off') return undefined;
  const cluster = mixerServerCluster(push, proxy, push.mesh.mixerCheckServer);
  if (!cluster) {
    if (stats) stats.mixerServerMissing++;
    return undefined;
  }
  return extAuthz(cluster, mode === 'fail-open');
}

/** ext_authz for inbound HTTP chains (Mixer Check), or undefined when checks are off. */
export function inboundExtAuthzFilter(
  push: PushContext,
  proxy: MeshProxy,
  stats?: ListenerStats,
): EnvoyObject | undefined {
  return checkFilter(push, proxy, stats);
}

/** ext_authz for outbound HTTP chains: only when the mesh sets disableClientPolicyChecks: false. */
export function outboundExtAuthzFilter(
  push: PushContext,
  proxy: MeshProxy,
  stats?: ListenerStats,
): EnvoyObject | undefined {
  if ((push.mesh as MeshExtras).disableClientPolicyChecks !== false) return undefined;
  return checkFilter(push, proxy, stats);
}

function proxyUid(proxy: MeshProxy): string {
  return `kubernetes://${proxy.id}`;
}

/** Static inbound attributes for one service instance (destination.*, context.reporter.*). */
export function inboundCheckAttributes(proxy: MeshProxy, inst: ServiceInstance): Record<string, string> {
  const s = inst.service;
  return {
    'context.reporter.kind': 'inbound',
    'context.reporter.uid': proxyUid(proxy),
    'destination.ip': inst.endpoint.address,
    'destination.namespace': proxy.namespace,
    'destination.port': String(inst.endpoint.port),
    'destination.service.host': s.hostname,
    'destination.service.name': s.name,
    'destination.service.namespace': s.namespace,
    'destination.service.uid': `istio://${s.namespace}/services/${s.name}`,
    'destination.uid': proxyUid(proxy),
  };
}

/** Static outbound attributes (source.*, context.reporter.kind outbound). */
export function outboundCheckAttributes(proxy: MeshProxy): Record<string, string> {
  return {
    'context.proxy_version': proxy.metadata.ISTIO_VERSION ?? '',
    'context.reporter.kind': 'outbound',
    'context.reporter.uid': proxyUid(proxy),
    'source.namespace': proxy.namespace,
    'source.uid': proxyUid(proxy),
  };
}

/** `typed_per_filter_config` entry carrying static attributes as ext_authz context_extensions. */
export function extAuthzPerFilterConfig(attrs: Record<string, string>): EnvoyObject {
  return {
    [FilterNames.extAuthz]: typed(EXT_AUTHZ_PER_ROUTE_TYPE, {
      check_settings: { context_extensions: { ...attrs } },
    }),
  };
}

function reportCluster(push: PushContext, proxy: MeshProxy, stats?: ListenerStats): string | undefined {
  if (!push.mesh.mixerReportServer) return undefined;
  const cluster = mixerServerCluster(push, proxy, push.mesh.mixerReportServer);
  if (!cluster && stats) stats.mixerServerMissing++;
  return cluster;
}

function commonConfig(cluster: string): EnvoyObject {
  return {
    log_name: MIXER_LOG_NAME,
    grpc_service: { envoy_grpc: { cluster_name: cluster } },
    transport_api_version: 'V3',
  };
}

/** HCM access_log entries reporting to mixer-telemetry; [] when reports are off or the server is unknown. */
export function httpAccessLoggers(push: PushContext, proxy: MeshProxy, stats?: ListenerStats): EnvoyObject[] {
  if (push.mesh.disableMixerHttpReports) return [];
  const cluster = reportCluster(push, proxy, stats);
  if (!cluster) return [];
  return [
    {
      name: FilterNames.httpGrpcAccessLog,
      typed_config: typed(HTTP_GRPC_ALS_TYPE, {
        common_config: commonConfig(cluster),
        additional_request_headers_to_log: [...MIXER_REQUEST_HEADERS],
      }),
    },
  ];
}

/** tcp_proxy access_log entries reporting to mixer-telemetry; [] when the server is unknown. */
export function tcpAccessLoggers(push: PushContext, proxy: MeshProxy, stats?: ListenerStats): EnvoyObject[] {
  const cluster = reportCluster(push, proxy, stats);
  if (!cluster) return [];
  return [
    {
      name: FilterNames.tcpGrpcAccessLog,
      typed_config: typed(TCP_GRPC_ALS_TYPE, { common_config: commonConfig(cluster) }),
    },
  ];
}
