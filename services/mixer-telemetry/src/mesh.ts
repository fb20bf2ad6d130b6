// Galley's pods and services as lookup tables for source.* / destination.* (Istio's kubernetesenv adapter).
import type { McpResource } from '@keel/mcp';
import { unpackStruct } from '@keel/proto';

export const PODS_COLLECTION = 'k8s/core/v1/pods';
export const SERVICES_COLLECTION = 'k8s/core/v1/services';

/** What the telemetry attributes need to know about one pod (a workload instance). */
export interface PodInfo {
  name: string;
  namespace: string;
  ip: string;
  labels: ReadonlyMap<string, string>;
  serviceAccount: string;
  /** Workload (controller) name: the Deployment behind a ReplicaSet, else the owner, else the pod. */
  workload: string;
  /** `kubernetes://<pod>.<namespace>` (Istio 1.4 source.uid / destination.uid). */
  uid: string;
  /** `kubernetes://apis/<group/version>/namespaces/<ns>/<kind>s/<name>` of the controller, or the pod. */
  owner: string;
}

export interface ServiceInfo {
  name: string;
  namespace: string;
  host: string;
  uid: string;
}

type Obj = Record<string, any>;

/** `<deployment>-<replicaset hash>-<pod hash>`: the name Kubernetes gives a Deployment's pods. */
const DEPLOYMENT_POD = /^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$/;

/**
 * The workload of a pod. MCP carries no ownerReferences, so a Deployment is recognised by its pod
 * naming (`reviews-v1-7f99cc4496-abcde` -> `reviews-v1`); any other pod is its own workload.
 */
export function workloadOf(podName: string, ns: string): { workload: string; owner: string } {
  const m = DEPLOYMENT_POD.exec(podName);
  if (m) return { workload: m[1]!, owner: `kubernetes://apis/apps/v1/namespaces/${ns}/deployments/${m[1]}` };
  return { workload: podName, owner: `kubernetes://apis/v1/namespaces/${ns}/pods/${podName}` };
}

function splitName(resourceName: string): [string, string] {
  const i = resourceName.indexOf('/');
  return i < 0 ? ['default', resourceName] : [resourceName.slice(0, i), resourceName.slice(i + 1)];
}

/** A pod as an MCP resource (body = the object minus apiVersion/kind/metadata) -> PodInfo. */
export function podInfo(r: McpResource): PodInfo {
  const [namespace, name] = splitName(r.metadata.name);
  const body = unpackStruct(r.body) as Obj;
  const spec = (body.spec ?? {}) as Obj;
  const status = (body.status ?? {}) as Obj;
  const { workload, owner } = workloadOf(name, namespace);
  return {
    name,
    namespace,
    ip: String(status.podIP ?? ''),
    labels: new Map(Object.entries(r.metadata.labels ?? {})),
    serviceAccount: String(spec.serviceAccountName ?? spec.serviceAccount ?? 'default'),
    workload,
    uid: `kubernetes://${name}.${namespace}`,
    owner,
  };
}

/** The pods and services Galley serves, indexed for per-entry lookups. Immutable once built. */
export class MeshIndex {
  private readonly podsByIp = new Map<string, PodInfo>();
  private readonly podsById = new Map<string, PodInfo>();
  private readonly servicesByHost = new Map<string, ServiceInfo>();

  constructor(pods: Iterable<PodInfo> = [], services: Iterable<ServiceInfo> = []) {
    for (const p of pods) {
      if (p.ip) this.podsByIp.set(p.ip, p);
      this.podsById.set(`${p.name}.${p.namespace}`, p);
    }
    for (const s of services) this.servicesByHost.set(s.host, s);
  }

  static fromMcp(
    pods: ReadonlyMap<string, McpResource>,
    services: ReadonlyMap<string, McpResource>,
    domain = 'cluster.local',
  ): MeshIndex {
    const svc = [...services.values()].map((r) => {
      const [namespace, name] = splitName(r.metadata.name);
      const host = `${name}.${namespace}.svc.${domain}`;
      return { name, namespace, host, uid: `istio://${namespace}/services/${name}` };
    });
    return new MeshIndex([...pods.values()].map(podInfo), svc);
  }

  podByIp(ip: string): PodInfo | undefined {
    return this.podsByIp.get(ip);
  }

  /** By `<pod>.<namespace>` (the middle of a sidecar node id). */
  podById(id: string): PodInfo | undefined {
    return this.podsById.get(id);
  }

  service(host: string): ServiceInfo | undefined {
    return this.servicesByHost.get(host);
  }

  get size(): { pods: number; services: number } {
    return { pods: this.podsById.size, services: this.servicesByHost.size };
  }
}

/** `outbound|9080|v1|reviews.default.svc.cluster.local` / `inbound|9080|http|reviews...` parsed. */
export interface ClusterName {
  direction: 'inbound' | 'outbound';
  port: number;
  /** Subset (outbound) or port name (inbound). */
  subset: string;
  host: string;
}

/** Parses an Istio cluster name; undefined for anything else (PassthroughCluster, BlackHoleCluster ...). */
export function parseClusterName(name: string): ClusterName | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  const [direction, port, subset, host] = parts as [string, string, string, string];
  if (direction !== 'inbound' && direction !== 'outbound') return undefined;
  const p = Number(port);
  if (!Number.isInteger(p) || p < 0 || p > 65535) return undefined;
  return { direction, port: p, subset, host };
}
