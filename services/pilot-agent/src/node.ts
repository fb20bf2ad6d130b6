// The proxy's xDS node: `<type>~<ip>~<id>~<domain>` and metadata from ISTIO_META_* / ISTIO_METAJSON_*
// (spec sections 1.6 and 6).
import { networkInterfaces } from 'node:os';
import type { Result } from '@keel/runtime';

export type ProxyType = 'sidecar' | 'router';

export interface ProxyNode {
  type: ProxyType;
  /** Every IP; the first is in the id. */
  ips: string[];
  /** `POD_NAME.POD_NAMESPACE` on Kubernetes. */
  podId: string;
  namespace: string;
  domain: string;
  /** `<type>~<ip>~<id>~<domain>`. */
  id: string;
  cluster: string;
  metadata: Record<string, unknown>;
}

export interface NodeInput {
  type: ProxyType;
  ip?: string;
  id?: string;
  domain?: string;
  serviceCluster: string;
  env: Record<string, string | undefined>;
  /** Host IPs to append (default: the private IPv4/IPv6 addresses of this host). */
  hostIps?: string[];
  /** The agent serves SDS: metadata SDS=true tells Pilot to point TLS contexts at it (Istio 1.4). */
  sds?: boolean;
}

const PRIVATE = [/^10\./, /^192\.168\./, /^172\.(1[6-9]|2\d|3[01])\./, /^f[cd][0-9a-f]{2}:/i];

/** Private, non-loopback addresses of this host. */
export function privateHostIps(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && PRIVATE.some((re) => re.test(a.address)))
    .map((a) => a!.address);
}

/** Metadata from ISTIO_META_X (string) and ISTIO_METAJSON_X (JSON); a bad JSON value is an error. */
export function metadataFromEnv(
  env: Record<string, string | undefined>,
): Result<Record<string, unknown>, string[]> {
  const out: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (k.startsWith('ISTIO_METAJSON_')) {
      try {
        out[k.slice('ISTIO_METAJSON_'.length)] = JSON.parse(v) as unknown;
      } catch {
        errors.push(`${k} is not valid JSON`);
      }
    } else if (k.startsWith('ISTIO_META_')) out[k.slice('ISTIO_META_'.length)] = v;
  }
  return errors.length ? { ok: false, errors } : { ok: true, value: out };
}

export function buildNode(input: NodeInput): Result<ProxyNode, string[]> {
  const env = input.env;
  const namespace = env.POD_NAMESPACE ?? 'default';
  const ips = [input.ip, ...(input.hostIps ?? privateHostIps())].filter((x): x is string => !!x);
  const unique = [...new Set(ips)];
  if (unique.length === 0) unique.push('127.0.0.1', '::1');
  const podId = input.id ?? `${env.POD_NAME ?? 'unknown'}.${namespace}`;
  const domain = input.domain ?? `${namespace}.svc.cluster.local`;
  const meta = metadataFromEnv(env);
  if (!meta.ok) return meta;
  const metadata: Record<string, unknown> = {
    ...meta.value,
    INSTANCE_IPS: unique.join(','),
    NAMESPACE: meta.value.NAMESPACE ?? namespace,
  };
  if (env.SERVICE_ACCOUNT && metadata.SERVICE_ACCOUNT === undefined)
    metadata.SERVICE_ACCOUNT = env.SERVICE_ACCOUNT;
  if (input.sds && metadata.SDS === undefined) metadata.SDS = 'true';
  return {
    ok: true,
    value: {
      type: input.type,
      ips: unique,
      podId,
      namespace,
      domain,
      id: `${input.type}~${unique[0]}~${podId}~${domain}`,
      cluster: input.serviceCluster,
      metadata,
    },
  };
}
