// What Istio's kubernetesenv adapter did: source.* and destination.* attributes from Galley's pods
// and services, found by uid (`kubernetes://<pod>.<ns>`) or by IP.
import { type AttributeValue, ChildBag, formatIp, type MapBag } from '@keel/attributes';
import type { McpResource } from '@keel/mcp';
import { unpackStruct } from '@keel/proto';

export interface PodInfo {
  name: string;
  namespace: string;
  ip?: string;
  labels: ReadonlyMap<string, string>;
  serviceAccount: string;
  workload: string;
  owner: string;
  container?: string;
  /** Attributes to add for a pod on either side, precomputed once. */
  source: ReadonlyMap<string, AttributeValue>;
  destination: ReadonlyMap<string, AttributeValue>;
}

interface ServiceInfo {
  name: string;
  namespace: string;
  selector: Record<string, string>;
}

const GENERATED = /^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$/;

function splitName(n: string): [string, string] {
  const i = n.indexOf('/');
  return i < 0 ? ['', n] : [n.slice(0, i), n.slice(i + 1)];
}

/** Pods and services indexed for enrichment; rebuilt when either collection changes. */
export class KubeIndex {
  private byIp = new Map<string, PodInfo>();
  private byUid = new Map<string, PodInfo>();
  private services: ServiceInfo[] = [];
  private domain: string;

  constructor(domain = 'cluster.local') {
    this.domain = domain;
  }

  setPods(resources: readonly McpResource[]): void {
    const byIp = new Map<string, PodInfo>();
    const byUid = new Map<string, PodInfo>();
    for (const r of resources) {
      const pod = this.podInfo(r);
      if (pod.ip) byIp.set(pod.ip, pod);
      byUid.set(`kubernetes://${pod.name}.${pod.namespace}`, pod);
    }
    this.byIp = byIp;
    this.byUid = byUid;
  }

  setServices(resources: readonly McpResource[]): void {
    this.services = resources.map((r) => {
      const [namespace, name] = splitName(r.metadata.name);
      const body = (unpackStruct(r.body) ?? {}) as { spec?: { selector?: Record<string, string> } };
      return { name, namespace, selector: body.spec?.selector ?? {} };
    });
  }

  pods(): number {
    return this.byUid.size;
  }

  private podInfo(r: McpResource): PodInfo {
    const [namespace, name] = splitName(r.metadata.name);
    const body = (unpackStruct(r.body) ?? {}) as {
      spec?: { serviceAccountName?: string; serviceAccount?: string; containers?: { name?: string }[] };
      status?: { podIP?: string };
    };
    const labels = new Map(Object.entries(r.metadata.labels ?? {}));
    const workload = GENERATED.exec(name)?.[1] ?? name;
    const serviceAccount = body.spec?.serviceAccountName ?? body.spec?.serviceAccount ?? 'default';
    const owner = `kubernetes://apis/apps/v1/namespaces/${namespace}/deployments/${workload}`;
    const uid = `kubernetes://${name}.${namespace}`;
    const common = (p: string): [string, AttributeValue][] => [
      [`${p}.uid`, uid],
      [`${p}.name`, name],
      [`${p}.namespace`, namespace],
      [`${p}.labels`, labels],
      [`${p}.serviceAccount`, serviceAccount],
      [`${p}.owner`, owner],
      [`${p}.workload.uid`, `istio://${namespace}/workloads/${workload}`],
      [`${p}.workload.name`, workload],
      [`${p}.workload.namespace`, namespace],
    ];
    const container = body.spec?.containers?.[0]?.name;
    return {
      name,
      namespace,
      ip: body.status?.podIP,
      labels,
      serviceAccount,
      workload,
      owner,
      container,
      source: new Map(common('source')),
      destination: new Map([
        ...common('destination'),
        ...(container ? ([['destination.container.name', container]] as [string, AttributeValue][]) : []),
      ]),
    };
  }

  /** The pod for a uid attribute or, failing that, an IP attribute. */
  find(uid: AttributeValue | undefined, ip: AttributeValue | undefined): PodInfo | undefined {
    if (typeof uid === 'string') {
      const p = this.byUid.get(uid);
      if (p) return p;
    }
    if (ip instanceof Uint8Array) return this.byIp.get(formatIp(ip));
    if (typeof ip === 'string') return this.byIp.get(ip);
    return undefined;
  }

  /** The first service in the pod's namespace whose selector matches its labels. */
  serviceOf(pod: PodInfo): ServiceInfo | undefined {
    return this.services.find(
      (s) =>
        s.namespace === pod.namespace &&
        Object.keys(s.selector).length > 0 &&
        Object.entries(s.selector).every(([k, v]) => pod.labels.get(k) === v),
    );
  }

  /** A bag over `bag` with the source and destination pods' attributes added (never overriding). */
  enrich(bag: MapBag): ChildBag {
    const out = new ChildBag(bag);
    const add = (attrs: ReadonlyMap<string, AttributeValue>) => {
      for (const [k, v] of attrs) if (bag.get(k) === undefined) out.set(k, v);
    };
    const src = this.find(bag.get('source.uid'), bag.get('source.ip'));
    if (src) add(src.source);
    const dst = this.find(bag.get('destination.uid'), bag.get('destination.ip'));
    if (dst) {
      add(dst.destination);
      if (bag.get('destination.service.name') === undefined) {
        const svc = this.serviceOf(dst);
        if (svc) {
          const host = `${svc.name}.${svc.namespace}.svc.${this.domain}`;
          add(
            new Map<string, AttributeValue>([
              ['destination.service.name', svc.name],
              ['destination.service.namespace', svc.namespace],
              ['destination.service.host', host],
              ['destination.service.uid', `istio://${svc.namespace}/services/${svc.name}`],
            ]),
          );
        }
      }
    }
    return out;
  }
}
