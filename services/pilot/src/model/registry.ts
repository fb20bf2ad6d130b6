// Service registry: Kubernetes Services/Endpoints/Pods/Nodes and ServiceEntries -> Service, Endpoint, Workload.
import { parseProtocol, protocolFromPortName } from './protocol.js';
import type {
  ConfigEntry,
  Endpoint,
  Locality,
  MeshView,
  Resolution,
  Service,
  ServicePort,
  Workload,
} from './types.js';

export interface RegistryOptions {
  /** DNS suffix, `cluster.local`. */
  domain: string;
  /** SPIFFE trust domain, `cluster.local`. */
  trustDomain: string;
  mesh: MeshView;
}

/** What one registry contributes to a push. */
export interface RegistryView {
  services: Service[];
  endpoints: Endpoint[];
  workloads: Workload[];
}

/** The core Kubernetes objects, as ConfigEntries (spec = object minus apiVersion/kind/metadata). */
export interface KubernetesObjects {
  services: readonly ConfigEntry[];
  endpoints: readonly ConfigEntry[];
  pods: readonly ConfigEntry[];
  nodes: readonly ConfigEntry[];
}

export const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';
const EMPTY_LOCALITY: Locality = { region: '', zone: '', subzone: '' };

/** `spiffe://<trustDomain>/ns/<ns>/sa/<sa>` */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** `region/zone/subzone` (any part may be missing) -> Locality. */
export function parseLocality(text: string | undefined): Locality {
  const [region = '', zone = '', subzone = ''] = (text ?? '').split('/');
  return { region, zone, subzone };
}

/** `*` / `.` entries of an exportTo list; unknown entries are dropped, empty means the mesh default. */
export function normalizeExportTo(
  values: readonly string[] | undefined,
  fallback: readonly string[],
): Array<'*' | '.'> {
  const pick = (v: readonly string[]) =>
    v.map((s) => s.trim()).filter((s): s is '*' | '.' => s === '*' || s === '.');
  const own = pick(values ?? []);
  if (own.length > 0) return own;
  const def = pick(fallback);
  return def.length > 0 ? def : ['*'];
}

function nodeLocality(node: ConfigEntry | undefined): Locality {
  if (!node) return EMPTY_LOCALITY;
  const l = node.labels;
  return {
    region: l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '',
    zone: l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '',
    subzone: l['topology.istio.io/subzone'] ?? '',
  };
}

/** Pods -> Workloads, with locality from the node the pod runs on (topology labels). */
export function workloadsFromPods(pods: readonly ConfigEntry[], nodes: readonly ConfigEntry[]): Workload[] {
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  return pods.map((pod) => {
    const spec = (pod.spec.spec ?? {}) as Record<string, any>;
    const status = (pod.spec.status ?? {}) as Record<string, any>;
    const nodeName = String(spec.nodeName ?? '');
    const containerPorts = ((spec.containers ?? []) as Array<Record<string, any>>).flatMap((c) =>
      ((c.ports ?? []) as Array<Record<string, any>>).map((p) => ({
        name: String(p.name ?? ''),
        containerPort: Number(p.containerPort),
        protocol: String(p.protocol ?? 'TCP'),
      })),
    );
    return {
      name: pod.name,
      namespace: pod.namespace,
      ip: String(status.podIP ?? ''),
      labels: { ...pod.labels },
      serviceAccount: String(spec.serviceAccountName ?? spec.serviceAccount ?? 'default'),
      nodeName,
      locality: nodeLocality(nodeByName.get(nodeName)),
      containerPorts,
      annotations: { ...pod.annotations },
    };
  });
}

function kubeResolution(spec: Record<string, any>): Resolution {
  if (spec.type === 'ExternalName') return 'DNSLB';
  if (spec.clusterIP === 'None') return 'Passthrough';
  return 'ClientSideLB';
}

function kubeService(entry: ConfigEntry, opts: RegistryOptions): Service {
  const spec = (entry.spec.spec ?? {}) as Record<string, any>;
  const resolution = kubeResolution(spec);
  const ports: ServicePort[] = ((spec.ports ?? []) as Array<Record<string, any>>).map((p) => ({
    name: String(p.name ?? ''),
    port: Number(p.port),
    protocol: protocolFromPortName(p.name, Number(p.port), p.protocol),
  }));
  const exportAnno = entry.annotations[EXPORT_TO_ANNOTATION];
  const address = resolution === 'ClientSideLB' && spec.clusterIP ? String(spec.clusterIP) : '0.0.0.0';
  return {
    hostname: `${entry.name}.${entry.namespace}.svc.${opts.domain}`,
    namespace: entry.namespace,
    name: entry.name,
    address,
    ports,
    resolution,
    meshExternal: spec.type === 'ExternalName',
    exportTo: normalizeExportTo(exportAnno?.split(','), opts.mesh.defaultServiceExportTo),
    serviceAccounts: [],
    registry: 'kubernetes',
    ...(spec.type === 'ExternalName' ? { externalName: String(spec.externalName ?? '') } : {}),
    selector: { ...((spec.selector ?? {}) as Record<string, string>) },
    labels: { ...entry.labels },
    createdAt: entry.createdAt,
  };
}

function endpointFromWorkload(
  svc: Service,
  sp: ServicePort,
  ip: string,
  port: number,
  pod: Workload | undefined,
): Endpoint {
  const labels = pod ? { ...pod.labels } : {};
  return {
    hostname: svc.hostname,
    servicePortName: sp.name,
    servicePort: sp.port,
    address: ip,
    port,
    labels,
    serviceAccount: pod?.serviceAccount ?? '',
    uid: pod ? `kubernetes://${pod.name}.${pod.namespace}` : '',
    network: '',
    locality: pod?.locality ?? EMPTY_LOCALITY,
    weight: 1,
    tlsMode: labels[TLS_MODE_LABEL] === 'istio' ? 'istio' : 'disabled',
    namespace: pod?.namespace ?? svc.namespace,
  };
}

function kubeEndpoints(
  svc: Service,
  entry: ConfigEntry | undefined,
  podsByKey: Map<string, Workload>,
): Endpoint[] {
  if (svc.resolution === 'DNSLB') {
    return svc.ports.map((sp) => endpointFromWorkload(svc, sp, svc.externalName ?? '', sp.port, undefined));
  }
  const out: Endpoint[] = [];
  for (const subset of (entry?.spec.subsets ?? []) as Array<Record<string, any>>) {
    for (const addr of (subset.addresses ?? []) as Array<Record<string, any>>) {
      const ref = addr.targetRef as Record<string, string> | undefined;
      const pod =
        ref?.kind === 'Pod'
          ? podsByKey.get(`${ref.namespace ?? svc.namespace}/${ref.name}`)
          : podsByKey.get(`ip:${addr.ip}`);
      for (const p of (subset.ports ?? []) as Array<Record<string, any>>) {
        const sp = svc.ports.find((s) => s.name === String(p.name ?? ''));
        if (sp) out.push(endpointFromWorkload(svc, sp, String(addr.ip), Number(p.port), pod));
      }
    }
  }
  return out;
}

/** Kubernetes objects -> services (with SPIFFE accounts from their pods), endpoints, workloads. */
export function kubernetesRegistry(objs: KubernetesObjects, opts: RegistryOptions): RegistryView {
  const workloads = workloadsFromPods(objs.pods, objs.nodes);
  const podsByKey = new Map<string, Workload>();
  for (const w of workloads) {
    podsByKey.set(`${w.namespace}/${w.name}`, w);
    if (w.ip && !podsByKey.has(`ip:${w.ip}`)) podsByKey.set(`ip:${w.ip}`, w);
  }
  const epByKey = new Map(objs.endpoints.map((e) => [`${e.namespace}/${e.name}`, e]));
  const services: Service[] = [];
  const endpoints: Endpoint[] = [];
  for (const entry of objs.services) {
    const svc = kubeService(entry, opts);
    const eps = kubeEndpoints(svc, epByKey.get(`${entry.namespace}/${entry.name}`), podsByKey);
    const accounts = new Set(
      eps
        .filter((e) => e.serviceAccount)
        .map((e) => spiffeId(opts.trustDomain, e.namespace, e.serviceAccount)),
    );
    svc.serviceAccounts = [...accounts].sort();
    services.push(svc);
    endpoints.push(...eps);
  }
  return { services, endpoints, workloads };
}

const SE_RESOLUTION: Record<string, Resolution> = {
  NONE: 'Passthrough',
  STATIC: 'ClientSideLB',
  DNS: 'DNSLB',
};

function seServices(entry: ConfigEntry, opts: RegistryOptions): Service[] {
  const spec = entry.spec as Record<string, any>;
  const ports: ServicePort[] = ((spec.ports ?? []) as Array<Record<string, any>>).map((p) => ({
    name: String(p.name ?? ''),
    port: Number(p.number),
    protocol: parseProtocol(p.protocol),
  }));
  const addresses = (spec.addresses ?? []) as string[];
  return ((spec.hosts ?? []) as string[]).map((host) => ({
    hostname: host,
    namespace: entry.namespace,
    name: entry.name,
    address: addresses[0] ?? '0.0.0.0',
    ports,
    resolution: SE_RESOLUTION[String(spec.resolution ?? 'NONE')] ?? 'Passthrough',
    meshExternal: spec.location !== 'MESH_INTERNAL',
    exportTo: normalizeExportTo(spec.exportTo, opts.mesh.defaultServiceExportTo),
    serviceAccounts: [...((spec.subjectAltNames ?? []) as string[])],
    registry: 'serviceentry',
    selector: {},
    labels: { ...entry.labels },
    createdAt: entry.createdAt,
  }));
}

function seEndpoint(svc: Service, sp: ServicePort, ep: Record<string, any>, namespace: string): Endpoint {
  const labels = { ...((ep.labels ?? {}) as Record<string, string>) };
  const ports = (ep.ports ?? {}) as Record<string, number>;
  return {
    hostname: svc.hostname,
    servicePortName: sp.name,
    servicePort: sp.port,
    address: String(ep.address),
    port: Number(ports[sp.name] ?? sp.port),
    labels,
    serviceAccount: String(ep.serviceAccount ?? ''),
    uid: '',
    network: String(ep.network ?? ''),
    locality: parseLocality(ep.locality),
    weight: Number(ep.weight ?? 0) > 0 ? Number(ep.weight) : 1,
    tlsMode: labels[TLS_MODE_LABEL] === 'istio' ? 'istio' : 'disabled',
    namespace,
  };
}

/** ServiceEntries -> one Service per host, with endpoints from `endpoints[]` or, for DNS, the host itself. */
export function serviceEntryRegistry(entries: readonly ConfigEntry[], opts: RegistryOptions): RegistryView {
  const services: Service[] = [];
  const endpoints: Endpoint[] = [];
  for (const entry of entries) {
    const declared = (entry.spec.endpoints ?? []) as Array<Record<string, any>>;
    for (const svc of seServices(entry, opts)) {
      services.push(svc);
      for (const sp of svc.ports) {
        if (declared.length > 0) {
          for (const ep of declared) endpoints.push(seEndpoint(svc, sp, ep, entry.namespace));
        } else if (svc.resolution === 'DNSLB' && !svc.hostname.startsWith('*')) {
          endpoints.push(seEndpoint(svc, sp, { address: svc.hostname }, entry.namespace));
        }
      }
    }
  }
  return { services, endpoints, workloads: [] };
}
