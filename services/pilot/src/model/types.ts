// The data model that every Envoy generator reads. Generators are pure: (PushContext, Proxy) in,
// Envoy resources out; nothing here does I/O or reads a clock.
import type { KindSpecs } from '@keel/config';
import type { ClientProfile } from './client.js';

/** Istio port protocols, from the port-name prefix (Service) or `protocol` (ServiceEntry, Gateway). */
export type Protocol =
  | 'HTTP'
  | 'HTTP2'
  | 'GRPC'
  | 'GRPC-Web'
  | 'HTTPS'
  | 'TCP'
  | 'TLS'
  | 'Mongo'
  | 'Redis'
  | 'MySQL'
  | 'UDP'
  | 'Unsupported';

export interface ServicePort {
  /** Port name as declared (`http`, `http-web`, `tcp`), may be empty for ServiceEntry-less cases. */
  name: string;
  /** The service port number (what clients dial). */
  port: number;
  protocol: Protocol;
}

/** How a service's endpoints are found: EDS, DNS, or the original destination. */
export type Resolution = 'ClientSideLB' | 'DNSLB' | 'Passthrough';

export interface Service {
  /** FQDN: `reviews.default.svc.cluster.local`, or a ServiceEntry host (may be a wildcard `*.foo.com`). */
  hostname: string;
  /** Namespace of the Service or ServiceEntry that defined it. */
  namespace: string;
  /** Kubernetes name, or the ServiceEntry's name. */
  name: string;
  /** ClusterIP / ServiceEntry address; `0.0.0.0` when none (headless, DNS without addresses). */
  address: string;
  ports: ServicePort[];
  resolution: Resolution;
  /** ServiceEntry location MESH_EXTERNAL. */
  meshExternal: boolean;
  /** Visibility: `*` (everywhere) or `.` (own namespace only). */
  exportTo: ReadonlyArray<'*' | '.'>;
  /** SPIFFE identities of the workloads behind it (`spiffe://cluster.local/ns/default/sa/bookinfo-reviews`). */
  serviceAccounts: string[];
  /** `kubernetes` Service, ServiceEntry, or ExternalName. */
  registry: 'kubernetes' | 'serviceentry';
  /** Kubernetes ExternalName target, when type ExternalName. */
  externalName?: string;
  /** Kubernetes selector (workload labels) or ServiceEntry-less empty object. */
  selector: Record<string, string>;
  /** Kubernetes labels of the Service object. */
  labels: Record<string, string>;
  /** Creation time in ms since epoch (for the oldest-wins ordering Istio uses); 0 when unknown. */
  createdAt: number;
}

export interface Locality {
  region: string;
  zone: string;
  subzone: string;
}

/** One backend address of one service port (Istio's IstioEndpoint). */
export interface Endpoint {
  /** Service FQDN this endpoint belongs to. */
  hostname: string;
  /** Service port name the endpoint serves (matches ServicePort.name). */
  servicePortName: string;
  /** Service port number. */
  servicePort: number;
  address: string;
  /** Endpoint (target) port. */
  port: number;
  labels: Record<string, string>;
  /** Service account name (not SPIFFE), or '' . */
  serviceAccount: string;
  /** `kubernetes://<pod>.<ns>` when known, else ''. */
  uid: string;
  network: string;
  locality: Locality;
  /** LB weight (ServiceEntry endpoint weight); 1 when unset. */
  weight: number;
  /** `istio` when the workload carries the security.istio.io/tlsMode=istio label. */
  tlsMode: 'istio' | 'disabled';
  /** Namespace of the backing workload. */
  namespace: string;
}

/** A Kubernetes Pod as Pilot needs it. */
export interface Workload {
  name: string;
  namespace: string;
  ip: string;
  labels: Record<string, string>;
  serviceAccount: string;
  nodeName: string;
  locality: Locality;
  /** Container ports: name, port, protocol. */
  containerPorts: Array<{ name: string; containerPort: number; protocol: string }>;
  annotations: Record<string, string>;
}

/** A service this proxy is a backend of, with the port it serves on. */
export interface ServiceInstance {
  service: Service;
  servicePort: ServicePort;
  endpoint: Endpoint;
}

/**
 * A config object as the generators see it. Istio kinds carry libs/config's normalized spec
 * (`ConfigEntry<KindSpecs[K]>`: one spelling, durations in Duration JSON form).
 */
export interface ConfigEntry<S = Record<string, any>> {
  kind: string;
  name: string;
  namespace: string;
  spec: S;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** ms since epoch, 0 when unknown: older config wins conflicts. */
  createdAt: number;
  /** Resource version, for debug output. */
  version: string;
}

/** The MeshConfig fields Pilot reads (names as in Istio's mesh YAML). */
export interface MeshView {
  rootNamespace: string;
  connectTimeout: string;
  /** STRICT_DNS refresh interval (`5s` code default, Helm `300s`); optional. */
  dnsRefreshRate?: string;
  proxyListenPort: number;
  outboundTrafficPolicy: { mode: 'ALLOW_ANY' | 'REGISTRY_ONLY' };
  enableAutoMtls: boolean;
  disablePolicyChecks: boolean;
  policyCheckFailOpen: boolean;
  mixerCheckServer?: string;
  mixerReportServer?: string;
  disableMixerHttpReports?: boolean;
  accessLogFile?: string;
  defaultServiceExportTo: string[];
  defaultVirtualServiceExportTo: string[];
  defaultDestinationRuleExportTo: string[];
  sdsUdsPath?: string;
  trustDomain?: string;
  /** Mesh-wide locality load balancing (distribute or failover); a DestinationRule's own wins. */
  localityLbSetting?: LocalityLbSetting;
}

/** `localityLbSetting` of MeshConfig / DestinationRule loadBalancer (names as in YAML). */
export interface LocalityLbSetting {
  distribute?: Array<{ from?: string; to?: Record<string, number> }>;
  failover?: Array<{ from?: string; to?: string }>;
  enabled?: boolean;
}

/** Node metadata keys Pilot understands (spec section 1.6); unknown keys are kept in `raw`. */
export interface NodeMetadata {
  ISTIO_VERSION?: string;
  LABELS?: Record<string, string>;
  INSTANCE_IPS?: string;
  CONFIG_NAMESPACE?: string;
  NAMESPACE?: string;
  INTERCEPTION_MODE?: 'REDIRECT' | 'TPROXY' | 'NONE';
  SERVICE_ACCOUNT?: string;
  ROUTER_MODE?: 'standard' | 'sni-dnat';
  NETWORK?: string;
  CLUSTER_ID?: string;
  NAME?: string;
  WORKLOAD_NAME?: string;
  OWNER?: string;
  SDS?: string;
  USER_SDS?: string;
  /** `grpc` marks a proxyless gRPC client (as later Istio versions do). */
  GENERATOR?: string;
  'istio-locality'?: string;
  'policy.istio.io/check'?: string;
  raw: Record<string, unknown>;
}

export type NodeType = 'sidecar' | 'router';

/** A connected (or simulated) proxy, resolved against the registry. */
export interface Proxy {
  type: NodeType;
  /** Full xDS node id `type~ip~id~domain`. */
  nodeId: string;
  /** First IP; all IPs in `ips`. */
  ip: string;
  ips: string[];
  /** `<pod>.<namespace>` */
  id: string;
  /** DNS domain `<ns>.svc.cluster.local`. */
  dnsDomain: string;
  namespace: string;
  /** `node.cluster`, the service cluster. */
  cluster: string;
  metadata: NodeMetadata;
  /** Workload labels (metadata LABELS, else the pod's labels). */
  labels: Record<string, string>;
  locality: Locality;
  /** `envoy` for Envoy sidecars/gateways, `grpc` for proxyless gRPC clients. */
  generator: 'envoy' | 'grpc';
  /** What kind of xDS client it is and what it accepts (model/client.ts); absent = derived from `generator`. */
  client?: ClientProfile;
  /** Services this proxy backs (by IP). */
  serviceInstances: ServiceInstance[];
  /** The pod, when the registry knows this proxy's IP. */
  workload?: Workload;
}

/**
 * Every config object Pilot holds, by kind (`VirtualService`, `Service`, `Endpoints`, `Pod`, ...),
 * as received from Galley. For core Kubernetes kinds `spec` holds the object minus
 * apiVersion/kind/metadata (Service -> {spec, status}, Endpoints -> {subsets}, Pod -> {spec, status}).
 */
export interface ConfigStoreSnapshot {
  version: string;
  byKind: ReadonlyMap<string, readonly ConfigEntry[]>;
  mesh: MeshView;
}

/** What a proxy may see: Istio's SidecarScope (egress hosts, or everything exported to it). */
export interface SidecarScope {
  /** The Sidecar resource in force, if any (namespace one or the root-namespace default). */
  sidecar?: ConfigEntry;
  /** Services visible to the proxy, sorted by hostname. */
  services: Service[];
  /** VirtualServices visible to the proxy for the mesh gateway, in precedence order. */
  virtualServices: ConfigEntry[];
  /** The DestinationRule that applies to a service host for this proxy, if any (merged). */
  destinationRule(hostname: string): ConfigEntry | undefined;
  /** Stable key: proxies with equal keys get identical config (cache sharing). */
  key: string;
}

/**
 * The immutable, indexed view of the whole mesh that one push builds from. Built once per push
 * (buildPushContext), shared read-only by every proxy build.
 */
export interface PushContext {
  version: string;
  mesh: MeshView;
  /** `cluster.local` */
  domain: string;
  trustDomain: string;
  /** All services sorted by hostname. */
  services: Service[];
  /** hostname -> service (first defined wins on duplicates; Kubernetes before ServiceEntry). */
  serviceByHost: ReadonlyMap<string, Service>;
  /** hostname -> every endpoint of every port. */
  endpointsByHost: ReadonlyMap<string, readonly Endpoint[]>;
  workloadsByIp: ReadonlyMap<string, Workload>;
  namespaceLabels: ReadonlyMap<string, Record<string, string>>;
  /** Istio config by kind name (`VirtualService`, `DestinationRule`, `Gateway`, `Sidecar`, `EnvoyFilter`,
   * `Policy`, `MeshPolicy`, `ServiceRole`, `ServiceRoleBinding`, `ClusterRbacConfig`, `RbacConfig`,
   * `AuthorizationPolicy`, `ServiceEntry`), each sorted oldest first then by namespace/name. */
  configs<K extends keyof KindSpecs>(kind: K): readonly ConfigEntry<KindSpecs[K]>[];
  configs(kind: string): readonly ConfigEntry[];
  /** Scope for a proxy (cached per namespace + Sidecar). */
  sidecarScope(proxy: Proxy): SidecarScope;
  /**
   * Generator output kept from push to push (Pilot's; absent in one-off builds): a value generated again
   * from the same inputs is the same object, so later stages skip it by identity (see `PushMemo`).
   */
  memo?: PushMemo;
}

/** Interns by `key`; a held value `fits` rejects is made again and replaces it. */
export type Interner = <T extends object>(key: string, make: () => T, fits?: (held: T) => boolean) => T;

/**
 * Values interned by a key that names every input they are generated from. Two generations: what no
 * build asked for during a whole push is dropped at the next `rotate`.
 */
export interface PushMemo {
  intern<T extends object>(key: string, make: () => T): T;
  /** The intern function of the keys of group `name` (keys of different groups never meet). */
  group(name: string): Interner;
  /** A number naming `o` for as long as it lives (to put an interned object into another key). */
  idOf(o: object): number;
  /** Called once per push. */
  rotate(): void;
}

/** The four xDS resource lists generated for one proxy (protobufjs object form, .proto field names). */
export interface ProxyResources {
  clusters: Record<string, unknown>[];
  endpoints: Record<string, unknown>[];
  listeners: Record<string, unknown>[];
  routes: Record<string, unknown>[];
}
