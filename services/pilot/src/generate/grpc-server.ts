// Proxyless gRPC servers (`grpc.server(..., xds=True)`, XdsServer): the inbound Listener a server
// asks for by its bootstrap's `server_listener_resource_name_template`. Pure.
//
// One Listener per service instance port, named `xds.istio.io/grpc/lds/inbound/<ip>:<port>` and
// addressed at exactly that ip:port (gRPC serves only when they match its bound address). The
// filter chain follows the authentication policy: plaintext, or mTLS from the bootstrap's
// certificate providers with a client certificate required (STRICT). gRPC's filter chain match
// cannot tell TLS from plaintext, so PERMISSIVE serves plaintext (docs/pilot-v3-differences.md).
// HTTP filters: RBAC (in the form gRPC enforces) before the router; the route does not forward.
import { typed } from '@keel/proto';
import { inboundVirtualHostName } from '../model/names.js';
import type { Proxy as MeshProxy, PushContext } from '../model/types.js';
import { authnPolicyFor, inboundMtlsTransportSocket, peerMode } from './authn.js';
import { HCM_TYPE } from './gateway.js';
import { grpcRbacFilter } from './grpc-rbac.js';
import { instanceTargets } from './listeners-inbound.js';
import { httpRbacFilter } from './rbac.js';
import type { EnvoyObject } from './route-spec.js';

export const GRPC_SERVER_LISTENER_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

/** `ip:port` as gRPC fills the template's `%s` (IPv6 in brackets). */
export function grpcServerListenerName(ip: string, port: number): string {
  return `${GRPC_SERVER_LISTENER_PREFIX}${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

const ROUTER: EnvoyObject = {
  name: 'envoy.filters.http.router',
  typed_config: typed('envoy.extensions.filters.http.router.v3.Router', {}),
};

/** Every inbound Listener of a proxyless gRPC server, one per instance ip:port. */
export function buildGrpcServerListeners(
  push: PushContext,
  proxy: MeshProxy,
  denied?: string[],
): EnvoyObject[] {
  return instanceTargets(proxy)
    .filter((t) => t.protocol !== 'UDP')
    .map((t) => {
      const { service, servicePort } = t.instance;
      const mode = peerMode(authnPolicyFor(push, service, servicePort));
      const name = grpcServerListenerName(t.bindIp, t.port);
      const rbac = grpcRbacFilter(httpRbacFilter(push, proxy, service, servicePort), denied);
      const hcm = typed(HCM_TYPE, {
        stat_prefix: `inbound_${t.bindIp}_${t.port}`,
        route_config: {
          name: t.cluster,
          virtual_hosts: [
            {
              name: inboundVirtualHostName(servicePort.port),
              domains: ['*'],
              routes: [{ name: 'default', match: { prefix: '/' }, non_forwarding_action: {} }],
            },
          ],
        },
        http_filters: [...(rbac ? [rbac] : []), ROUTER],
      });
      const chain: EnvoyObject = {
        name: mode === 'STRICT' ? 'mtls' : 'plaintext',
        filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
      };
      if (mode === 'STRICT') chain.transport_socket = inboundMtlsTransportSocket(push, proxy, false);
      return {
        name,
        address: { socket_address: { address: t.bindIp, port_value: t.port } },
        filter_chains: [chain],
        traffic_direction: 'INBOUND',
      };
    });
}
