// Sidecar inbound listeners `<podIP>_<port>` (and Sidecar ingress listeners), with authn, RBAC and Mixer wiring. Pure.

import { protoDurationOf } from '@keel/runtime';
import { buildSubsetKey, inboundVirtualHostName, virtualHostName } from '../model/names.js';
import { isHttpProtocol, parseProtocol } from '../model/protocol.js';
import type {
  Proxy as MeshProxy,
  Protocol,
  PushContext,
  Service,
  ServiceInstance,
  ServicePort,
} from '../model/types.js';
import { authnPolicyFor, inboundChainTemplates, jwtAuthnFilter, peerMode } from './authn.js';
import {
  httpConnectionManager,
  type ListenerStats,
  listenerFiltersFor,
  orderedHttpFilters,
  portListener,
  tcpProxy,
} from './listeners-common.js';
import {
  extAuthzPerFilterConfig,
  httpAccessLoggers,
  inboundCheckAttributes,
  inboundExtAuthzFilter,
  tcpAccessLoggers,
} from './mixer.js';
import { httpRbacFilter, networkRbacFilter } from './rbac.js';
import type { EnvoyObject } from './route-spec.js';

/** One inbound listener to build: where it listens and what it forwards to. */
export interface InboundTarget {
  bindIp: string;
  port: number;
  protocol: Protocol;
  cluster: string;
  instance: ServiceInstance;
}

/** Inline route config: vhost `inbound|http|<port>`, domains `*`, one `default` route to the inbound cluster. */
export function inboundRouteConfig(
  push: PushContext,
  proxy: MeshProxy,
  t: InboundTarget,
  stats?: ListenerStats,
): EnvoyObject {
  const svcPort = t.instance.servicePort.port;
  const route: EnvoyObject = {
    name: 'default',
    match: { prefix: '/' },
    route: {
      cluster: t.cluster,
      timeout: { seconds: 0, nanos: 0 },
      // Istio 1.4's max_grpc_timeout 0 (honour grpc-timeout without limit) in its current, non-deprecated form.
      max_stream_duration: { grpc_timeout_header_max: { seconds: 0, nanos: 0 } },
    },
    decorator: { operation: `${virtualHostName(t.instance.service.hostname, svcPort)}/*` },
  };
  if (inboundExtAuthzFilter(push, proxy, stats)) {
    route.typed_per_filter_config = extAuthzPerFilterConfig(inboundCheckAttributes(proxy, t.instance));
  }
  return {
    name: t.cluster,
    virtual_hosts: [{ name: inboundVirtualHostName(svcPort), domains: ['*'], routes: [route] }],
    validate_clusters: { value: false },
  };
}

function inboundFilters(
  push: PushContext,
  proxy: MeshProxy,
  t: InboundTarget,
  stats?: ListenerStats,
): EnvoyObject[] {
  const { service, servicePort } = t.instance;
  if (isHttpProtocol(t.protocol)) {
    const policy = authnPolicyFor(push, service, servicePort);
    const httpFilters = orderedHttpFilters(
      {
        jwt: jwtAuthnFilter(push, proxy, policy, stats),
        rbac: httpRbacFilter(push, proxy, service, servicePort),
        extAuthz: inboundExtAuthzFilter(push, proxy, stats),
      },
      t.protocol === 'GRPC-Web',
    );
    const hcm = httpConnectionManager({
      statPrefix: `inbound_${t.bindIp}_${t.port}`,
      routeConfig: inboundRouteConfig(push, proxy, t, stats),
      httpFilters,
      accessLog: httpAccessLoggers(push, proxy, stats),
      inbound: true,
    });
    return [hcm];
  }
  const rbac = networkRbacFilter(push, proxy, service, servicePort);
  return [...(rbac ? [rbac] : []), tcpProxy(t.cluster, tcpAccessLoggers(push, proxy, stats))];
}

/** One inbound listener: chains per the authn peer mode (plaintext / STRICT mTLS / PERMISSIVE pair). */
export function inboundListener(
  push: PushContext,
  proxy: MeshProxy,
  t: InboundTarget,
  stats?: ListenerStats,
): EnvoyObject {
  const mode = peerMode(authnPolicyFor(push, t.instance.service, t.instance.servicePort));
  const http = isHttpProtocol(t.protocol);
  const filters = inboundFilters(push, proxy, t, stats);
  const chains = inboundChainTemplates(push, proxy, mode, http).map((tpl) => ({ ...tpl, filters }));
  return portListener(t.bindIp, t.port, 'INBOUND', chains, listenerFiltersFor(chains));
}

/** Targets from the proxy's service instances: one per endpoint port (first instance wins). */
export function instanceTargets(proxy: MeshProxy): InboundTarget[] {
  const out = new Map<string, InboundTarget>();
  for (const inst of proxy.serviceInstances) {
    const p = inst.servicePort;
    if (p.protocol === 'UDP') continue;
    const key = `${inst.endpoint.address}_${inst.endpoint.port}`;
    if (out.has(key)) continue;
    out.set(key, {
      bindIp: inst.endpoint.address,
      port: inst.endpoint.port,
      protocol: p.protocol,
      cluster: buildSubsetKey('inbound', p.port, p.name, inst.service.hostname),
      instance: inst,
    });
  }
  return [...out.values()];
}

interface SidecarIngress {
  port: { number: number; protocol?: string; name?: string };
  bind?: string;
  defaultEndpoint?: string;
}

/** Sidecar `ingress[]` targets; an ingress port no instance serves gets a placeholder service `<sidecar>.<ns>`. */
export function sidecarIngressTargets(push: PushContext, proxy: MeshProxy): InboundTarget[] {
  const sidecar = push.sidecarScope(proxy).sidecar;
  const ingress = (sidecar?.spec.ingress ?? []) as SidecarIngress[];
  return ingress.map((ing) => {
    const protocol = parseProtocol(ing.port.protocol);
    const portName = ing.port.name ?? `${(ing.port.protocol ?? 'tcp').toLowerCase()}-${ing.port.number}`;
    const found = proxy.serviceInstances.find((i) => i.endpoint.port === ing.port.number);
    const servicePort: ServicePort = { name: portName, port: ing.port.number, protocol };
    const service: Service =
      found?.service ?? placeholderService(`${sidecar!.name}.${sidecar!.namespace}`, proxy, servicePort);
    const instance: ServiceInstance = found
      ? { ...found, servicePort }
      : {
          service,
          servicePort,
          endpoint: { ...placeholderEndpoint(proxy, ing.port.number), hostname: service.hostname },
        };
    return {
      bindIp: ing.bind || proxy.ip,
      port: ing.port.number,
      protocol: protocol === 'Unsupported' ? 'TCP' : protocol,
      cluster: buildSubsetKey('inbound', ing.port.number, portName, service.hostname),
      instance,
    };
  });
}

function placeholderService(hostname: string, proxy: MeshProxy, port: ServicePort): Service {
  return {
    hostname,
    namespace: proxy.namespace,
    name: hostname.split('.')[0]!,
    address: '0.0.0.0',
    ports: [port],
    resolution: 'ClientSideLB',
    meshExternal: false,
    exportTo: ['*'],
    serviceAccounts: [],
    registry: 'kubernetes',
    selector: {},
    labels: {},
    createdAt: 0,
  };
}

function placeholderEndpoint(proxy: MeshProxy, port: number): ServiceInstance['endpoint'] {
  return {
    hostname: '',
    servicePortName: '',
    servicePort: port,
    address: proxy.ip,
    port,
    labels: proxy.labels,
    serviceAccount: '',
    uid: `kubernetes://${proxy.id}`,
    network: '',
    locality: proxy.locality,
    weight: 1,
    tlsMode: 'istio',
    namespace: proxy.namespace,
  };
}

/** STATIC clusters for Sidecar ingress listeners: `defaultEndpoint` `127.0.0.1:PORT` / `0.0.0.0:PORT` / `unix://path`. */
export function sidecarIngressClusters(push: PushContext, proxy: MeshProxy): EnvoyObject[] {
  const sidecar = push.sidecarScope(proxy).sidecar;
  const ingress = (sidecar?.spec.ingress ?? []) as SidecarIngress[];
  return sidecarIngressTargets(push, proxy).map((t, i) => {
    const ep = ingress[i]!.defaultEndpoint ?? `127.0.0.1:${t.port}`;
    const address = ep.startsWith('unix://')
      ? { pipe: { path: ep.slice('unix://'.length) } }
      : {
          socket_address: {
            address:
              ep.slice(0, ep.lastIndexOf(':')) === '0.0.0.0' ? '127.0.0.1' : ep.slice(0, ep.lastIndexOf(':')),
            port_value: Number(ep.slice(ep.lastIndexOf(':') + 1)),
          },
        };
    return {
      name: t.cluster,
      type: 'STATIC',
      connect_timeout: protoDurationOf(push.mesh.connectTimeout) ?? { seconds: 1, nanos: 0 },
      load_assignment: {
        cluster_name: t.cluster,
        endpoints: [{ locality: {}, lb_endpoints: [{ endpoint: { address } }] }],
      },
    };
  });
}

/** Inbound listeners: the Sidecar's ingress listeners when it has any, else one per service instance port. */
export function buildInboundListeners(
  push: PushContext,
  proxy: MeshProxy,
  stats?: ListenerStats,
): EnvoyObject[] {
  const ingress = sidecarIngressTargets(push, proxy);
  const targets = ingress.length > 0 ? ingress : instanceTargets(proxy);
  return targets.map((t) => inboundListener(push, proxy, t, stats));
}
