// xDS node -> MeshProxy (Istio 1.4 node identity, spec section 1.6), resolved against a PushContext.
import { err, ok, type Result } from '@keel/runtime';
import { clientProfile } from './client.js';
import { parseLocality } from './registry.js';
import type {
  Locality,
  Proxy as MeshProxy,
  NodeMetadata,
  NodeType,
  PushContext,
  ServiceInstance,
  Workload,
} from './types.js';

/** The parts of an Envoy/gRPC `Node` Pilot reads. */
export interface NodeInput {
  id: string;
  cluster?: string;
  metadata?: Record<string, unknown>;
  locality?: { region?: string; zone?: string; sub_zone?: string; subzone?: string };
  user_agent_name?: string;
  user_agent_version?: string;
  client_features?: string[];
}

const STRING_KEYS = [
  'ISTIO_VERSION',
  'INSTANCE_IPS',
  'CONFIG_NAMESPACE',
  'NAMESPACE',
  'INTERCEPTION_MODE',
  'SERVICE_ACCOUNT',
  'ROUTER_MODE',
  'NETWORK',
  'CLUSTER_ID',
  'NAME',
  'WORKLOAD_NAME',
  'OWNER',
  'SDS',
  'USER_SDS',
  'GENERATOR',
  'istio-locality',
  'policy.istio.io/check',
] as const;

function parseLabels(v: unknown): Result<Record<string, string> | undefined, string> {
  if (v === undefined || v === null || v === '') return ok(undefined);
  let obj: unknown = v;
  if (typeof v === 'string') {
    try {
      obj = JSON.parse(v);
    } catch {
      return err(`metadata LABELS is not a JSON object: ${v}`);
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    return err('metadata LABELS must be an object');
  return ok(Object.fromEntries(Object.entries(obj).map(([k, val]) => [k, String(val)])));
}

/** Node metadata -> NodeMetadata (known keys typed as strings, every key kept in `raw`). */
export function parseMetadata(raw: Record<string, unknown>): Result<NodeMetadata, string> {
  const md: NodeMetadata = { raw: { ...raw } };
  const target = md as unknown as Record<string, unknown>;
  for (const key of STRING_KEYS) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    target[key] = typeof v === 'string' ? v : String(v);
  }
  const labels = parseLabels(raw.LABELS);
  if (!labels.ok) return labels;
  if (labels.value) md.LABELS = labels.value;
  return ok(md);
}

function nodeLocality(node: NodeInput, md: NodeMetadata, workload: Workload | undefined): Locality {
  if (md['istio-locality']) return parseLocality(md['istio-locality']);
  const l = node.locality;
  if (l && (l.region || l.zone || l.sub_zone || l.subzone)) {
    return { region: l.region ?? '', zone: l.zone ?? '', subzone: l.sub_zone ?? l.subzone ?? '' };
  }
  return workload?.locality ?? { region: '', zone: '', subzone: '' };
}

/** Per push: every service instance by endpoint address, each with its position in service order. */
const instancesByIp = new WeakMap<PushContext, Map<string, Array<[number, ServiceInstance]>>>();

function instanceIndex(push: PushContext): Map<string, Array<[number, ServiceInstance]>> {
  let index = instancesByIp.get(push);
  if (index) return index;
  index = new Map();
  let seq = 0;
  for (const service of push.services) {
    for (const endpoint of push.endpointsByHost.get(service.hostname) ?? []) {
      const servicePort = service.ports.find(
        (p) => p.name === endpoint.servicePortName && p.port === endpoint.servicePort,
      );
      if (!servicePort) continue;
      let list = index.get(endpoint.address);
      if (!list) {
        list = [];
        index.set(endpoint.address, list);
      }
      list.push([seq++, { service, servicePort, endpoint }]);
    }
  }
  instancesByIp.set(push, index);
  return index;
}

/** Service instances whose endpoint address is one of the proxy IPs, in service order. */
export function serviceInstancesFor(push: PushContext, ips: readonly string[]): ServiceInstance[] {
  const index = instanceIndex(push);
  const found = [...new Set(ips)].flatMap((ip) => index.get(ip) ?? []);
  if (found.length > 1) found.sort((a, b) => a[0] - b[0]);
  return found.map(([, instance]) => ({ ...instance }));
}

/** Splits and validates `type~ip~id~domain`; every problem is reported in the message. */
function splitNodeId(
  id: string,
): Result<{ type: NodeType; ip: string; podId: string; domain: string }, string> {
  const parts = id.split('~');
  if (parts.length !== 4)
    return err(`invalid node id "${id}": want type~ip~id~domain (4 parts, got ${parts.length})`);
  const [type, ip, podId, domain] = parts as [string, string, string, string];
  if (type !== 'sidecar' && type !== 'router') {
    return err(`invalid node type "${type}" in node id "${id}": want sidecar or router`);
  }
  return ok({ type, ip, podId, domain });
}

/** Resolves an xDS node into a MeshProxy; errors name the field that was wrong. */
export function parseNode(node: NodeInput, push: PushContext): Result<MeshProxy, string> {
  const idParts = splitNodeId(node.id);
  if (!idParts.ok) return idParts;
  const { type, ip: idIp, podId, domain } = idParts.value;
  const metadata = parseMetadata(node.metadata ?? {});
  if (!metadata.ok) return metadata;
  const md = metadata.value;
  const ips = (md.INSTANCE_IPS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ips.length === 0 && idIp) ips.push(idIp);
  if (ips.length === 0)
    return err(`node "${node.id}" has no IP: set INSTANCE_IPS metadata or the id's ip field`);
  const dot = podId.lastIndexOf('.');
  const namespace = md.CONFIG_NAMESPACE || md.NAMESPACE || (dot >= 0 ? podId.slice(dot + 1) : '');
  if (!namespace) {
    return err(`node "${node.id}" has no namespace: set NAMESPACE metadata or use id <pod>.<namespace>`);
  }
  const workload = ips.map((ip) => push.workloadsByIp.get(ip)).find((w) => w !== undefined);
  const generator = md.GENERATOR === 'grpc' ? 'grpc' : 'envoy';
  return ok({
    type,
    nodeId: node.id,
    ip: ips[0]!,
    ips,
    id: podId,
    dnsDomain: domain,
    namespace,
    cluster: node.cluster ?? '',
    metadata: md,
    labels: { ...(md.LABELS ?? workload?.labels ?? {}) },
    locality: nodeLocality(node, md, workload),
    generator,
    client: clientProfile({
      generator,
      ...(node.user_agent_name !== undefined ? { userAgentName: node.user_agent_name } : {}),
      ...(node.user_agent_version !== undefined ? { userAgentVersion: node.user_agent_version } : {}),
      ...(node.client_features ? { clientFeatures: node.client_features } : {}),
    }),
    serviceInstances: serviceInstancesFor(push, ips),
    ...(workload ? { workload } : {}),
  });
}
