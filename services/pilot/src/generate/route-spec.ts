// The VirtualService spec as the route generators read it (camelCase, as in YAML).

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface PortSelector {
  number?: number;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
}

export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface Headers {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

export interface RouteDestination {
  destination: Destination;
  weight?: number;
  headers?: Headers;
}

export interface HttpMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  headers?: Record<string, StringMatch>;
  queryParams?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
}

export interface Percent {
  value?: number;
}

export interface HttpFault {
  delay?: { fixedDelay?: string; exponentialDelay?: string; percentage?: Percent; percent?: number };
  abort?: { httpStatus?: number; percentage?: Percent; percent?: number };
}

export interface HttpRetry {
  attempts?: number;
  perTryTimeout?: string;
  retryOn?: string;
}

export interface CorsPolicy {
  allowOrigin?: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
  allowCredentials?: boolean;
}

export interface HttpRoute {
  name?: string;
  match?: HttpMatchRequest[];
  route?: RouteDestination[];
  redirect?: { uri?: string; authority?: string; redirectCode?: number };
  rewrite?: { uri?: string; authority?: string };
  timeout?: string;
  retries?: HttpRetry;
  fault?: HttpFault;
  mirror?: Destination;
  mirrorPercent?: number;
  corsPolicy?: CorsPolicy;
  headers?: Headers;
}

export interface L4Match {
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
}

export interface TlsMatch extends L4Match {
  sniHosts?: string[];
}

export interface TcpRoute {
  match?: L4Match[];
  route?: RouteDestination[];
}

export interface TlsRoute {
  match?: TlsMatch[];
  route?: RouteDestination[];
}

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HttpRoute[];
  tcp?: TcpRoute[];
  tls?: TlsRoute[];
  exportTo?: string[];
}

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
