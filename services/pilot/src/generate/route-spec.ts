// Route generator helpers; the VirtualService spec types are libs/config's normalized model.

import type { VirtualServiceSpec } from '@keel/config';

export type {
  CorsPolicy,
  Destination,
  HeaderOperations,
  Headers,
  HttpFault,
  HttpMatchRequest,
  HttpRetry,
  HttpRoute,
  L4Match,
  Percent,
  PortSelector,
  RouteDestination,
  StringMatch,
  TcpRoute,
  TlsMatch,
  TlsRoute,
  VirtualServiceSpec,
} from '@keel/config';

/** Envoy resources in protobufjs object form (`.proto` field names). */
export type EnvoyObject = Record<string, unknown>;

/** Duration of zero length (Istio's "disabled" timeout). */
export const ZERO_DURATION = { seconds: 0, nanos: 0 } as const;

/** Gateway reference as written in a VS (`name`, `ns/name`, `name.ns.svc...`) -> `ns/name`; `mesh` stays. */
export function resolveGatewayName(ref: string, vsNamespace: string): string {
  if (ref === 'mesh' || ref.includes('/')) return ref;
  const dot = ref.indexOf('.');
  if (dot > 0) {
    const parts = ref.split('.');
    return `${parts[1]}/${parts[0]}`;
  }
  return `${vsNamespace}/${ref}`;
}

/** Gateways a VS binds to, resolved; empty means `mesh`. */
export function vsGateways(vs: { namespace: string; spec: VirtualServiceSpec }): string[] {
  const gws = vs.spec.gateways ?? [];
  return gws.length === 0 ? ['mesh'] : gws.map((g) => resolveGatewayName(g, vs.namespace));
}
