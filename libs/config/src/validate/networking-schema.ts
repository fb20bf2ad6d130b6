/**
 * Field types: 's' string, 'i' int32, 'u' uint32 (also UInt32Value), 'b' bool, 'd' double, 'dur' Duration
 * string, 'struct' free-form Struct, 'M:Name' message, 'E:Name' enum, '[]T' repeated, 'map:T' string-keyed map.
 */
export type FieldType = string;
export interface MessageSchema {
  fields: Record<string, FieldType>;
  oneofs?: string[][];
}

const smap = 'map:s';
const umap = 'map:u';
const sList = '[]s';

/** Istio 1.4 networking.istio.io/v1alpha3 enums, values in proto order (index = proto number). */
export const ENUMS: Record<string, string[]> = {
  SimpleLB: ['ROUND_ROBIN', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH'],
  H2UpgradePolicy: ['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'],
  ClientTLSMode: ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'],
  ServerTLSMode: ['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL'],
  TLSProtocol: ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'],
  Location: ['MESH_EXTERNAL', 'MESH_INTERNAL'],
  Resolution: ['NONE', 'STATIC', 'DNS'],
  CaptureMode: ['DEFAULT', 'IPTABLES', 'NONE'],
  OutboundMode: ['REGISTRY_ONLY', 'ALLOW_ANY'],
  ApplyTo: [
    'INVALID',
    'LISTENER',
    'FILTER_CHAIN',
    'NETWORK_FILTER',
    'HTTP_FILTER',
    'ROUTE_CONFIGURATION',
    'VIRTUAL_HOST',
    'HTTP_ROUTE',
    'CLUSTER',
  ],
  PatchContext: ['ANY', 'SIDECAR_INBOUND', 'SIDECAR_OUTBOUND', 'GATEWAY'],
  Operation: ['INVALID', 'MERGE', 'ADD', 'REMOVE', 'INSERT_BEFORE', 'INSERT_AFTER'],
  RouteAction: ['ANY', 'ROUTE', 'REDIRECT', 'DIRECT_RESPONSE'],
  ListenerType: ['ANY', 'SIDECAR_INBOUND', 'SIDECAR_OUTBOUND', 'GATEWAY'],
  ListenerProtocol: ['ALL', 'HTTP', 'TCP'],
  InsertIndex: ['FIRST', 'LAST', 'BEFORE', 'AFTER'],
  FilterType: ['INVALID', 'HTTP', 'NETWORK'],
};

const headerOps = { set: smap, add: smap, remove: sList };
const deprecatedHeaderOps = {
  removeResponseHeaders: sList,
  appendResponseHeaders: smap,
  removeRequestHeaders: sList,
  appendRequestHeaders: smap,
  headers: 'M:Headers',
};
const trafficPolicyBody = {
  loadBalancer: 'M:LoadBalancerSettings',
  connectionPool: 'M:ConnectionPoolSettings',
  outlierDetection: 'M:OutlierDetection',
  tls: 'M:TLSSettings',
};
const l4Match = {
  destinationSubnets: sList,
  port: 'u',
  sourceSubnet: 's',
  sourceLabels: smap,
  gateways: sList,
};

/** Allowed fields per message of the Istio 1.4 networking protos (JSON names). */
export const MESSAGES: Record<string, MessageSchema> = {
  VirtualService: {
    fields: {
      hosts: sList,
      gateways: sList,
      http: '[]M:HTTPRoute',
      tls: '[]M:TLSRoute',
      tcp: '[]M:TCPRoute',
      exportTo: sList,
    },
  },
  Destination: { fields: { host: 's', subset: 's', port: 'M:PortSelector' } },
  PortSelector: { fields: { number: 'u', name: 's' }, oneofs: [['number', 'name']] },
  HTTPRoute: {
    fields: {
      name: 's',
      match: '[]M:HTTPMatchRequest',
      route: '[]M:HTTPRouteDestination',
      redirect: 'M:HTTPRedirect',
      rewrite: 'M:HTTPRewrite',
      websocketUpgrade: 'b',
      timeout: 'dur',
      retries: 'M:HTTPRetry',
      fault: 'M:HTTPFaultInjection',
      mirror: 'M:Destination',
      mirrorPercent: 'u',
      corsPolicy: 'M:CorsPolicy',
      appendHeaders: smap,
      ...deprecatedHeaderOps,
    },
  },
  Headers: { fields: { request: 'M:Headers_HeaderOperations', response: 'M:Headers_HeaderOperations' } },
  Headers_HeaderOperations: { fields: headerOps },
  TLSRoute: { fields: { match: '[]M:TLSMatchAttributes', route: '[]M:RouteDestination' } },
  TCPRoute: { fields: { match: '[]M:L4MatchAttributes', route: '[]M:RouteDestination' } },
  HTTPMatchRequest: {
    fields: {
      name: 's',
      uri: 'M:StringMatch',
      scheme: 'M:StringMatch',
      method: 'M:StringMatch',
      authority: 'M:StringMatch',
      headers: 'map:M:StringMatch',
      port: 'u',
      sourceLabels: smap,
      gateways: sList,
      queryParams: 'map:M:StringMatch',
      ignoreUriCase: 'b',
    },
  },
  StringMatch: { fields: { exact: 's', prefix: 's', regex: 's' }, oneofs: [['exact', 'prefix', 'regex']] },
  HTTPRouteDestination: { fields: { destination: 'M:Destination', weight: 'i', ...deprecatedHeaderOps } },
  RouteDestination: { fields: { destination: 'M:Destination', weight: 'i' } },
  L4MatchAttributes: { fields: l4Match },
  TLSMatchAttributes: { fields: { sniHosts: sList, ...l4Match } },
  HTTPRedirect: { fields: { uri: 's', authority: 's', redirectCode: 'u' } },
  HTTPRewrite: { fields: { uri: 's', authority: 's' } },
  HTTPRetry: { fields: { attempts: 'i', perTryTimeout: 'dur', retryOn: 's', retryRemoteLocalities: 'b' } },
  CorsPolicy: {
    fields: {
      allowOrigin: sList,
      allowOrigins: '[]M:StringMatch',
      allowMethods: sList,
      allowHeaders: sList,
      exposeHeaders: sList,
      maxAge: 'dur',
      allowCredentials: 'b',
    },
  },
  HTTPFaultInjection: {
    fields: { delay: 'M:HTTPFaultInjection_Delay', abort: 'M:HTTPFaultInjection_Abort' },
  },
  HTTPFaultInjection_Delay: {
    fields: { percent: 'i', fixedDelay: 'dur', exponentialDelay: 'dur', percentage: 'M:Percent' },
    oneofs: [['fixedDelay', 'exponentialDelay']],
  },
  HTTPFaultInjection_Abort: {
    fields: { percent: 'i', httpStatus: 'i', grpcStatus: 's', http2Error: 's', percentage: 'M:Percent' },
    oneofs: [['httpStatus', 'grpcStatus', 'http2Error']],
  },
  Percent: { fields: { value: 'd' } },
  DestinationRule: {
    fields: { host: 's', trafficPolicy: 'M:TrafficPolicy', subsets: '[]M:Subset', exportTo: sList },
  },
  TrafficPolicy: {
    fields: { ...trafficPolicyBody, portLevelSettings: '[]M:TrafficPolicy_PortTrafficPolicy' },
  },
  TrafficPolicy_PortTrafficPolicy: { fields: { port: 'M:PortSelector', ...trafficPolicyBody } },
  Subset: { fields: { name: 's', labels: smap, trafficPolicy: 'M:TrafficPolicy' } },
  LoadBalancerSettings: {
    fields: {
      simple: 'E:SimpleLB',
      consistentHash: 'M:LoadBalancerSettings_ConsistentHashLB',
      localityLbSetting: 'M:LocalityLoadBalancerSetting',
    },
    oneofs: [['simple', 'consistentHash']],
  },
  LoadBalancerSettings_ConsistentHashLB: {
    fields: {
      httpHeaderName: 's',
      httpCookie: 'M:LoadBalancerSettings_ConsistentHashLB_HTTPCookie',
      useSourceIp: 'b',
      httpQueryParameterName: 's',
      minimumRingSize: 'u',
    },
    oneofs: [['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName']],
  },
  LoadBalancerSettings_ConsistentHashLB_HTTPCookie: { fields: { name: 's', path: 's', ttl: 'dur' } },
  LocalityLoadBalancerSetting: {
    fields: {
      distribute: '[]M:LocalityLoadBalancerSetting_Distribute',
      failover: '[]M:LocalityLoadBalancerSetting_Failover',
      enabled: 'b',
    },
  },
  LocalityLoadBalancerSetting_Distribute: { fields: { from: 's', to: umap } },
  LocalityLoadBalancerSetting_Failover: { fields: { from: 's', to: 's' } },
  ConnectionPoolSettings: {
    fields: { tcp: 'M:ConnectionPoolSettings_TCPSettings', http: 'M:ConnectionPoolSettings_HTTPSettings' },
  },
  ConnectionPoolSettings_TCPSettings: {
    fields: {
      maxConnections: 'i',
      connectTimeout: 'dur',
      tcpKeepalive: 'M:ConnectionPoolSettings_TCPSettings_TcpKeepalive',
    },
  },
  ConnectionPoolSettings_TCPSettings_TcpKeepalive: { fields: { probes: 'u', time: 'dur', interval: 'dur' } },
  ConnectionPoolSettings_HTTPSettings: {
    fields: {
      http1MaxPendingRequests: 'i',
      http2MaxRequests: 'i',
      maxRequestsPerConnection: 'i',
      maxRetries: 'i',
      idleTimeout: 'dur',
      h2UpgradePolicy: 'E:H2UpgradePolicy',
    },
  },
  OutlierDetection: {
    fields: {
      consecutiveErrors: 'i',
      consecutiveGatewayErrors: 'u',
      consecutive5xxErrors: 'u',
      interval: 'dur',
      baseEjectionTime: 'dur',
      maxEjectionPercent: 'i',
      minHealthPercent: 'i',
    },
  },
  TLSSettings: {
    fields: {
      mode: 'E:ClientTLSMode',
      clientCertificate: 's',
      privateKey: 's',
      caCertificates: 's',
      subjectAltNames: sList,
      sni: 's',
    },
  },
  Gateway: { fields: { servers: '[]M:Server', selector: smap } },
  Server: {
    fields: { port: 'M:Port', bind: 's', hosts: sList, tls: 'M:Server_TLSOptions', defaultEndpoint: 's' },
  },
  Port: { fields: { number: 'u', protocol: 's', name: 's' } },
  Server_TLSOptions: {
    fields: {
      httpsRedirect: 'b',
      mode: 'E:ServerTLSMode',
      serverCertificate: 's',
      privateKey: 's',
      caCertificates: 's',
      credentialName: 's',
      subjectAltNames: sList,
      verifyCertificateSpki: sList,
      verifyCertificateHash: sList,
      minProtocolVersion: 'E:TLSProtocol',
      maxProtocolVersion: 'E:TLSProtocol',
      cipherSuites: sList,
    },
  },
  ServiceEntry: {
    fields: {
      hosts: sList,
      addresses: sList,
      ports: '[]M:Port',
      location: 'E:Location',
      resolution: 'E:Resolution',
      endpoints: '[]M:ServiceEntry_Endpoint',
      exportTo: sList,
      subjectAltNames: sList,
    },
  },
  ServiceEntry_Endpoint: {
    fields: { address: 's', ports: umap, labels: smap, network: 's', locality: 's', weight: 'u' },
  },
  Sidecar: {
    fields: {
      workloadSelector: 'M:WorkloadSelector',
      ingress: '[]M:IstioIngressListener',
      egress: '[]M:IstioEgressListener',
      outboundTrafficPolicy: 'M:OutboundTrafficPolicy',
    },
  },
  WorkloadSelector: { fields: { labels: smap } },
  IstioIngressListener: {
    fields: { port: 'M:Port', bind: 's', captureMode: 'E:CaptureMode', defaultEndpoint: 's' },
  },
  IstioEgressListener: { fields: { port: 'M:Port', bind: 's', captureMode: 'E:CaptureMode', hosts: sList } },
  OutboundTrafficPolicy: { fields: { mode: 'E:OutboundMode' } },
  EnvoyFilter: {
    fields: {
      workloadLabels: smap,
      workloadSelector: 'M:WorkloadSelector',
      filters: '[]M:EnvoyFilter_Filter',
      configPatches: '[]M:EnvoyFilter_EnvoyConfigObjectPatch',
    },
  },
  EnvoyFilter_Filter: {
    fields: {
      listenerMatch: 'M:EnvoyFilter_DeprecatedListenerMatch',
      insertPosition: 'M:EnvoyFilter_InsertPosition',
      filterType: 'E:FilterType',
      filterName: 's',
      filterConfig: 'struct',
    },
  },
  EnvoyFilter_DeprecatedListenerMatch: {
    fields: {
      portNumber: 'u',
      portNamePrefix: 's',
      listenerType: 'E:ListenerType',
      listenerProtocol: 'E:ListenerProtocol',
      address: sList,
    },
  },
  EnvoyFilter_InsertPosition: { fields: { index: 'E:InsertIndex', relativeTo: 's' } },
  EnvoyFilter_EnvoyConfigObjectPatch: {
    fields: {
      applyTo: 'E:ApplyTo',
      match: 'M:EnvoyFilter_EnvoyConfigObjectMatch',
      patch: 'M:EnvoyFilter_Patch',
    },
  },
  EnvoyFilter_EnvoyConfigObjectMatch: {
    fields: {
      context: 'E:PatchContext',
      proxy: 'M:EnvoyFilter_ProxyMatch',
      listener: 'M:EnvoyFilter_ListenerMatch',
      routeConfiguration: 'M:EnvoyFilter_RouteConfigurationMatch',
      cluster: 'M:EnvoyFilter_ClusterMatch',
    },
    oneofs: [['listener', 'routeConfiguration', 'cluster']],
  },
  EnvoyFilter_ProxyMatch: { fields: { proxyVersion: 's', metadata: smap } },
  EnvoyFilter_ListenerMatch: {
    fields: {
      portNumber: 'u',
      portName: 's',
      filterChain: 'M:EnvoyFilter_ListenerMatch_FilterChainMatch',
      name: 's',
    },
  },
  EnvoyFilter_ListenerMatch_FilterChainMatch: {
    fields: {
      name: 's',
      sni: 's',
      transportProtocol: 's',
      applicationProtocols: 's',
      filter: 'M:EnvoyFilter_ListenerMatch_FilterMatch',
    },
  },
  EnvoyFilter_ListenerMatch_FilterMatch: {
    fields: { name: 's', subFilter: 'M:EnvoyFilter_ListenerMatch_SubFilterMatch' },
  },
  EnvoyFilter_ListenerMatch_SubFilterMatch: { fields: { name: 's' } },
  EnvoyFilter_RouteConfigurationMatch: {
    fields: {
      portNumber: 'u',
      portName: 's',
      gateway: 's',
      vhost: 'M:EnvoyFilter_RouteConfigurationMatch_VirtualHostMatch',
      name: 's',
    },
  },
  EnvoyFilter_RouteConfigurationMatch_VirtualHostMatch: {
    fields: { name: 's', route: 'M:EnvoyFilter_RouteConfigurationMatch_RouteMatch' },
  },
  EnvoyFilter_RouteConfigurationMatch_RouteMatch: { fields: { name: 's', action: 'E:RouteAction' } },
  EnvoyFilter_ClusterMatch: { fields: { portNumber: 'u', service: 's', subset: 's', name: 's' } },
  EnvoyFilter_Patch: { fields: { operation: 'E:Operation', value: 'struct' } },
};
