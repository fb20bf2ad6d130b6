import type { Resource } from '@keel/config';

/** Shape of a generated mesh: `services` spread over `namespaces`, `podsPerService` pods each. */
export interface MeshSpec {
  services: number;
  namespaces: number;
  podsPerService: number;
  /** One VirtualService and one DestinationRule every `routedEvery` services. */
  routedEvery: number;
  /** ServiceEntries (external hosts) added on top. */
  serviceEntries: number;
}

export const PORT = 9080;
export const DOMAIN = 'svc.cluster.local';

/** Identity of one generated service. */
export interface ServiceRef {
  index: number;
  name: string;
  namespace: string;
  host: string;
}

export function serviceRef(spec: MeshSpec, i: number): ServiceRef {
  const namespace = `ns-${i % spec.namespaces}`;
  const name = `svc-${i}`;
  return { index: i, name, namespace, host: `${name}.${namespace}.${DOMAIN}` };
}

/** Pod IP of pod `p` of service `i`: 10.<i/250>.<i%250>.<p+1>, unique for up to 62,500 services. */
export function podIp(i: number, p: number): string {
  return `10.${Math.floor(i / 250) + 1}.${i % 250}.${p + 1}`;
}

export function podName(ref: ServiceRef, p: number): string {
  return `${ref.name}-v${p + 1}-${(ref.index * 7919 + p).toString(36)}`;
}

const meta = (name: string, namespace: string, labels?: Record<string, string>) => ({
  name,
  namespace,
  ...(labels ? { labels } : {}),
});

function service(ref: ServiceRef): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(ref.name, ref.namespace, { app: ref.name }),
    body: {
      spec: {
        selector: { app: ref.name },
        ports: [{ name: 'http', port: PORT, targetPort: PORT, protocol: 'TCP' }],
        clusterIP: `172.20.${Math.floor(ref.index / 250)}.${(ref.index % 250) + 1}`,
        type: 'ClusterIP',
      },
    },
  };
}

/** Endpoints of a service; `bump` shifts the last pod's port name-preserving address (an endpoint change). */
export function endpoints(ref: ServiceRef, pods: number, bump = 0): Resource {
  const addresses = Array.from({ length: pods }, (_, p) => ({
    ip:
      bump > 0 && p === pods - 1
        ? `10.200.${Math.floor(bump / 250)}.${(bump % 250) + 1}`
        : podIp(ref.index, p),
    targetRef: { kind: 'Pod', name: podName(ref, p), namespace: ref.namespace },
  }));
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: meta(ref.name, ref.namespace),
    body: { subsets: [{ addresses, ports: [{ name: 'http', port: PORT, protocol: 'TCP' }] }] },
  };
}

function pod(ref: ServiceRef, p: number): Resource {
  const labels = { app: ref.name, version: `v${p + 1}` };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...meta(podName(ref, p), ref.namespace, labels),
      // What the sidecar injector sets on the pods it injected.
      annotations: { 'sidecar.istio.io/status': '{"version":"bench","containers":["istio-proxy"]}' },
    },
    body: {
      spec: {
        serviceAccountName: 'default',
        nodeName: `node-${ref.index % 20}`,
        containers: [{ name: 'app', image: 'example/app:1.0', ports: [{ containerPort: PORT }] }],
      },
      status: { phase: 'Running', podIP: podIp(ref.index, p) },
    },
  };
}

/** A VirtualService splitting traffic v1/v2; `timeoutS` varies the content (a config change). */
export function virtualService(ref: ServiceRef, timeoutS = 10): Resource {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'VirtualService',
    metadata: meta(ref.name, ref.namespace),
    body: {
      hosts: [ref.host],
      http: [
        {
          match: [{ headers: { 'end-user': { exact: 'jason' } } }],
          route: [{ destination: { host: ref.host, subset: 'v2' } }],
        },
        {
          timeout: `${timeoutS}s`,
          route: [
            { destination: { host: ref.host, subset: 'v1' }, weight: 90 },
            { destination: { host: ref.host, subset: 'v2' }, weight: 10 },
          ],
        },
      ],
    },
  };
}

function destinationRule(ref: ServiceRef): Resource {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'DestinationRule',
    metadata: meta(ref.name, ref.namespace),
    body: {
      host: ref.host,
      trafficPolicy: { connectionPool: { tcp: { maxConnections: 100 } } },
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' } },
      ],
    },
  };
}

function serviceEntry(i: number, namespaces: number): Resource {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'ServiceEntry',
    metadata: meta(`external-${i}`, `ns-${i % namespaces}`),
    body: {
      hosts: [`api-${i}.example.com`],
      location: 'MESH_EXTERNAL',
      ports: [{ number: 443, name: 'https', protocol: 'TLS' }],
      resolution: 'DNS',
    },
  };
}

/** Every resource of the mesh, in a stable order (services, endpoints, pods, VS, DR, SE). */
export function generateMesh(spec: MeshSpec): Resource[] {
  const out: Resource[] = [];
  for (let i = 0; i < spec.services; i++) {
    const ref = serviceRef(spec, i);
    out.push(service(ref), endpoints(ref, spec.podsPerService));
    for (let p = 0; p < spec.podsPerService; p++) out.push(pod(ref, p));
    if (i % spec.routedEvery === 0) out.push(virtualService(ref), destinationRule(ref));
  }
  for (let i = 0; i < spec.serviceEntries; i++) out.push(serviceEntry(i, spec.namespaces));
  return out;
}

/** Ingestion mix: per service 1 Service, 1 Endpoints, 5 Pods, 1 VS, 1 DR, plus 1 ServiceEntry: 10 resources per service. */
export function specForTotal(total: number): MeshSpec {
  const services = Math.max(1, Math.floor(total / 10));
  return {
    services,
    namespaces: Math.min(10, services),
    podsPerService: 5,
    routedEvery: 1,
    serviceEntries: services,
  };
}

/** The Kubernetes YAML/JSON document of a resource (core kinds spread their body at top level). */
export function toManifest(r: Resource): Record<string, unknown> {
  const core = r.apiVersion === 'v1';
  return core
    ? { apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, ...r.body }
    : { apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.body };
}

/** xDS node of the sidecar on pod 0 of service `i` (Istio 1.4 id `sidecar~ip~pod.ns~ns.svc.cluster.local`). */
export function proxyNode(
  spec: MeshSpec,
  i: number,
): { id: string; cluster: string; metadata: Record<string, unknown> } {
  const ref = serviceRef(spec, i % spec.services);
  const ip = podIp(ref.index, 0);
  const pod = podName(ref, 0);
  return {
    id: `sidecar~${ip}~${pod}.${ref.namespace}~${ref.namespace}.${DOMAIN}`,
    cluster: `${ref.name}.${ref.namespace}`,
    metadata: {
      ISTIO_VERSION: '1.4.10',
      INTERCEPTION_MODE: 'REDIRECT',
      CONFIG_NAMESPACE: ref.namespace,
      NAMESPACE: ref.namespace,
      INSTANCE_IPS: ip,
      NAME: pod,
      SERVICE_ACCOUNT: 'default',
      LABELS: { app: ref.name, version: 'v1' },
      // Keel's pilot-agent always serves SDS to its Envoy and says so.
      SDS: 'true',
    },
  };
}
