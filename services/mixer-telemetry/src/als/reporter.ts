// The reporting proxy, from the access-log stream's first message (identifier.node).
import { structToJson } from '@keel/proto';
import type { MeshIndex, PodInfo } from '../mesh.js';

/** The proxy that sends a stream: the destination of inbound entries, the source of outbound ones. */
export interface Reporter {
  /** `kubernetes://<pod>.<namespace>` */
  uid: string;
  /** `<pod>.<namespace>` from the node id (may be empty for a non-Kubernetes proxy). */
  podId: string;
  name: string;
  namespace: string;
  /** WORKLOAD_NAME from the node, else Galley's view of the pod; '' when neither knows. */
  workload: string;
  labels: ReadonlyMap<string, string>;
  serviceAccount: string;
  ip: string;
  owner?: string;
  proxyVersion?: string;
  /** The reporter kind a log_name names (`...inbound...` / `...outbound...`), if any. */
  logKind?: 'inbound' | 'outbound';
}

type Obj = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Envoy's node (decoded `envoy.config.core.v3.Node`) plus the logger's log_name -> Reporter. */
export function reporterFromNode(node: Obj | null | undefined, logName: string): Reporter {
  const id = str(node?.id);
  const meta = (node?.metadata ? structToJson(node.metadata as never) : {}) as Obj;
  const parts = id.split('~');
  const podId = parts.length === 4 ? parts[2]! : '';
  const dot = podId.lastIndexOf('.');
  const name = str(meta.NAME) || (dot > 0 ? podId.slice(0, dot) : podId);
  const namespace = str(meta.NAMESPACE) || (dot > 0 ? podId.slice(dot + 1) : '');
  const labelsObj = meta.LABELS && typeof meta.LABELS === 'object' ? (meta.LABELS as Obj) : {};
  const labels = new Map(Object.entries(labelsObj).map(([k, v]) => [k, String(v)] as [string, string]));
  const ips = str(meta.INSTANCE_IPS).split(',').filter(Boolean);
  const lower = logName.toLowerCase();
  const logKind = lower.includes('outbound') ? 'outbound' : lower.includes('inbound') ? 'inbound' : undefined;
  const proxyVersion = str(meta.ISTIO_VERSION);
  return {
    uid: podId ? `kubernetes://${podId}` : `kubernetes://${id}`,
    podId,
    name,
    namespace,
    workload: str(meta.WORKLOAD_NAME),
    labels,
    serviceAccount: str(meta.SERVICE_ACCOUNT),
    ip: ips[0] ?? (parts.length === 4 ? parts[1]! : ''),
    ...(proxyVersion ? { proxyVersion } : {}),
    ...(logKind ? { logKind } : {}),
  };
}

/** The reporter with what Galley knows about its pod filled in (Galley wins on labels and workload). */
export function enrichReporter(r: Reporter, mesh: MeshIndex): Reporter {
  const pod: PodInfo | undefined =
    (r.podId && mesh.podById(r.podId)) || (r.ip ? mesh.podByIp(r.ip) : undefined);
  if (!pod) return r;
  return {
    ...r,
    name: pod.name,
    namespace: pod.namespace,
    workload: r.workload || pod.workload,
    labels: pod.labels.size > 0 ? pod.labels : r.labels,
    serviceAccount: r.serviceAccount || pod.serviceAccount,
    ip: r.ip || pod.ip,
    owner: pod.owner,
  };
}
