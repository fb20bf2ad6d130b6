import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { allIncludeDirs } from './paths.js';

const require = createRequire(import.meta.url);

/** Envoy and xDS files every Keel service may need; their imports load transitively. */
export const ENVOY_FILES: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/cluster/v3/cds.proto',
  'envoy/service/endpoint/v3/eds.proto',
  'envoy/service/listener/v3/lds.proto',
  'envoy/service/route/v3/rds.proto',
  'envoy/service/secret/v3/sds.proto',
  'envoy/service/auth/v3/external_auth.proto',
  'envoy/service/accesslog/v3/als.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/config/trace/v3/zipkin.proto',
  'envoy/config/trace/v3/opentelemetry.proto',
  'envoy/config/metrics/v3/stats.proto',
  'envoy/config/metrics/v3/metrics_service.proto',
  'envoy/admin/v3/config_dump.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/sni_cluster/v3/sni_cluster.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/access_loggers/grpc/v3/als.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
];

/** Keel's own API files under proto/. */
export const KEEL_FILES: readonly string[] = [
  'istio/mcp/v1alpha1/mcp.proto',
  'keel/demo/v1/echo.proto',
  'istio/mixer/v1/mixer.proto',
];

let commonAdded = false;
function addCommonProtos(): void {
  if (commonAdded) return;
  commonAdded = true;
  for (const name of ['api', 'descriptor', 'source_context', 'type']) {
    const json = require(`protobufjs/google/protobuf/${name}.json`);
    protobuf.common(name, json.nested.google.nested.protobuf.nested);
  }
}

/** A protobufjs Root that resolves imports against Keel's and Envoy's include dirs. keepCase: fields keep their .proto names. */
export function newRoot(
  files: readonly string[],
  includeDirs: readonly string[] = allIncludeDirs(),
): protobuf.Root {
  addCommonProtos();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => {
    if (existsSync(target)) return target;
    for (const dir of includeDirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}

let shared: protobuf.Root | undefined;

/** The process-wide root holding every Envoy and Keel type (loaded once, about 150 ms). */
export function protoRoot(): protobuf.Root {
  shared ??= newRoot([...KEEL_FILES, ...ENVOY_FILES]);
  return shared;
}

const typeCache = new Map<string, protobuf.Type>();

/** Looks a message type up by full name (`envoy.config.cluster.v3.Cluster`); throws on an unknown name. */
export function lookupType(fullName: string): protobuf.Type {
  let t = typeCache.get(fullName);
  if (!t) {
    t = protoRoot().lookupType(fullName.replace(/^\./, ''));
    typeCache.set(fullName, t);
  }
  return t;
}
