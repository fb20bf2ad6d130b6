// The normalized spec of each Istio 1.4 kind, as validateResource returns it, Galley serves it and
// Pilot (and later the mixers) read it: proto3 JSON names (camelCase) only, enums by name, durations
// as google.protobuf.Duration JSON strings ("90s", "1.500s"), no nulls. One declaration per kind;
// consumers type ConfigEntry<KindSpecs[K]> with it and never re-declare a kind's shape.
import type { MixerKindSpecs } from './mixer-specs.js';

/** A google.protobuf.Duration in JSON form, e.g. "90s" or "0.500s" (normalized by validation). */
export type DurationString = string;

// networking.istio.io/v1alpha3

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface PortSelector {
  number?: number;
  name?: string;
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
  ignoreUriCase?: boolean;
}

export interface Percent {
  value?: number;
}

export interface HttpFault {
  delay?: {
    fixedDelay?: DurationString;
    exponentialDelay?: DurationString;
    percentage?: Percent;
    percent?: number;
  };
  abort?: { httpStatus?: number; percentage?: Percent; percent?: number };
}

export interface HttpRetry {
  attempts?: number;
  perTryTimeout?: DurationString;
  retryOn?: string;
  retryRemoteLocalities?: boolean;
}

export interface CorsPolicy {
  allowOrigin?: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: DurationString;
  allowCredentials?: boolean;
}

export interface HttpRoute {
  name?: string;
  match?: HttpMatchRequest[];
  route?: RouteDestination[];
  redirect?: { uri?: string; authority?: string; redirectCode?: number };
  rewrite?: { uri?: string; authority?: string };
  timeout?: DurationString;
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
  sourceSubnet?: string;
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

export interface TlsSettings {
  mode?: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  subjectAltNames?: string[];
  sni?: string;
}

export interface LoadBalancerSettings {
  simple?: 'ROUND_ROBIN' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH';
  consistentHash?: {
    httpHeaderName?: string;
    httpCookie?: { name: string; path?: string; ttl?: DurationString };
    useSourceIp?: boolean;
    minimumRingSize?: number;
  };
  localityLbSetting?: Record<string, unknown>;
}

export interface ConnectionPoolSettings {
  tcp?: {
    maxConnections?: number;
    connectTimeout?: DurationString;
    tcpKeepalive?: { probes?: number; time?: DurationString; interval?: DurationString };
  };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: DurationString;
    h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
  };
}

export interface OutlierDetection {
  consecutiveErrors?: number;
  consecutiveGatewayErrors?: number;
  consecutive5xxErrors?: number;
  interval?: DurationString;
  baseEjectionTime?: DurationString;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}

export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: TlsSettings;
  portLevelSettings?: Array<Omit<TrafficPolicy, 'portLevelSettings'> & { port?: PortSelector }>;
}

export interface Subset {
  name: string;
  labels?: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
}

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Subset[];
  exportTo?: string[];
}

export interface ServerTlsSettings {
  httpsRedirect?: boolean;
  mode?: 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL';
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  subjectAltNames?: string[];
  verifyCertificateSpki?: string[];
  verifyCertificateHash?: string[];
  minProtocolVersion?: string;
  maxProtocolVersion?: string;
  cipherSuites?: string[];
}

export interface GatewayServer {
  port: { number: number; protocol: string; name: string };
  bind?: string;
  hosts: string[];
  tls?: ServerTlsSettings;
  defaultEndpoint?: string;
}

export interface GatewaySpec {
  servers: GatewayServer[];
  selector?: Record<string, string>;
}

export interface ServiceEntrySpec {
  hosts: string[];
  addresses?: string[];
  ports?: Array<{ number: number; protocol?: string; name: string }>;
  location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  resolution?: 'NONE' | 'STATIC' | 'DNS';
  endpoints?: Array<{
    address: string;
    ports?: Record<string, number>;
    labels?: Record<string, string>;
    network?: string;
    locality?: string;
    weight?: number;
  }>;
  exportTo?: string[];
  subjectAltNames?: string[];
}

export interface SidecarSpec {
  workloadSelector?: { labels?: Record<string, string> };
  ingress?: Array<{
    port: { number: number; protocol?: string; name?: string };
    bind?: string;
    captureMode?: 'DEFAULT' | 'IPTABLES' | 'NONE';
    defaultEndpoint: string;
  }>;
  egress?: Array<{
    port?: { number: number; protocol?: string; name?: string };
    bind?: string;
    captureMode?: 'DEFAULT' | 'IPTABLES' | 'NONE';
    hosts: string[];
  }>;
  outboundTrafficPolicy?: { mode?: 'REGISTRY_ONLY' | 'ALLOW_ANY' };
}

export interface EnvoyConfigPatch {
  applyTo?: string;
  match?: {
    context?: 'ANY' | 'SIDECAR_INBOUND' | 'SIDECAR_OUTBOUND' | 'GATEWAY';
    proxy?: { proxyVersion?: string; metadata?: Record<string, string> };
    listener?: Record<string, unknown>;
    routeConfiguration?: Record<string, unknown>;
    cluster?: Record<string, unknown>;
  };
  /** `value` is Envoy configuration, kept as written (google.protobuf.Struct). */
  patch?: { operation?: string; value?: Record<string, unknown> };
}

export interface EnvoyFilterSpec {
  workloadSelector?: { labels?: Record<string, string> };
  /** Deprecated 1.x API, still read by Pilot 1.4. */
  workloadLabels?: Record<string, string>;
  filters?: Array<Record<string, unknown>>;
  configPatches?: EnvoyConfigPatch[];
}

// authentication.istio.io/v1alpha1

export interface Jwt {
  issuer?: string;
  audiences?: string[];
  jwksUri?: string;
  jwks?: string;
  jwtHeaders?: string[];
  jwtParams?: string[];
  triggerRules?: Array<{ excludedPaths?: StringMatchWithSuffix[]; includedPaths?: StringMatchWithSuffix[] }>;
}

export interface StringMatchWithSuffix extends StringMatch {
  suffix?: string;
}

export interface AuthenticationPolicySpec {
  targets?: Array<{ name: string; labels?: Record<string, string>; ports?: PortSelector[] }>;
  peers?: Array<{ mtls?: { allowTls?: boolean; mode?: 'STRICT' | 'PERMISSIVE' }; jwt?: Jwt }>;
  peerIsOptional?: boolean;
  origins?: Array<{ jwt?: Jwt }>;
  originIsOptional?: boolean;
  principalBinding?: 'USE_PEER' | 'USE_ORIGIN';
}

// rbac.istio.io/v1alpha1

export interface AccessRule {
  services?: string[];
  hosts?: string[];
  notHosts?: string[];
  paths?: string[];
  notPaths?: string[];
  methods?: string[];
  notMethods?: string[];
  ports?: number[];
  notPorts?: number[];
  constraints?: Array<{ key: string; values: string[] }>;
}

export interface ServiceRoleSpec {
  rules: AccessRule[];
}

export interface ServiceRoleBindingSpec {
  subjects: Array<{
    user?: string;
    group?: string;
    properties?: Record<string, string>;
    names?: string[];
    notNames?: string[];
    groups?: string[];
    notGroups?: string[];
    namespaces?: string[];
    notNamespaces?: string[];
    ips?: string[];
    notIps?: string[];
  }>;
  roleRef?: { kind: string; name: string };
  actions?: AccessRule[];
  role?: string;
  mode?: 'ENFORCED' | 'PERMISSIVE';
}

export interface RbacConfigSpec {
  mode?: 'OFF' | 'ON' | 'ON_WITH_INCLUSION' | 'ON_WITH_EXCLUSION';
  inclusion?: { services?: string[]; namespaces?: string[] };
  exclusion?: { services?: string[]; namespaces?: string[] };
  enforcementMode?: 'ENFORCED' | 'PERMISSIVE';
}

// security.istio.io/v1beta1

export interface AuthorizationPolicySpec {
  selector?: { matchLabels?: Record<string, string> };
  rules?: Array<{
    from?: Array<{
      source?: {
        principals?: string[];
        requestPrincipals?: string[];
        namespaces?: string[];
        ipBlocks?: string[];
      };
    }>;
    to?: Array<{ operation?: { hosts?: string[]; ports?: string[]; methods?: string[]; paths?: string[] } }>;
    when?: Array<{ key: string; values: string[] }>;
  }>;
}

/** The normalized spec type of each Istio kind Pilot reads, by kind name. */
export interface KindSpecs extends MixerKindSpecs {
  VirtualService: VirtualServiceSpec;
  DestinationRule: DestinationRuleSpec;
  Gateway: GatewaySpec;
  ServiceEntry: ServiceEntrySpec;
  Sidecar: SidecarSpec;
  EnvoyFilter: EnvoyFilterSpec;
  Policy: AuthenticationPolicySpec;
  MeshPolicy: AuthenticationPolicySpec;
  ServiceRole: ServiceRoleSpec;
  ServiceRoleBinding: ServiceRoleBindingSpec;
  RbacConfig: RbacConfigSpec;
  ClusterRbacConfig: RbacConfigSpec;
  AuthorizationPolicy: AuthorizationPolicySpec;
}
