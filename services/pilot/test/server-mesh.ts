// A small mesh for server tests: service `echo` (gRPC port 7070) backed by pods on loopback IPs.
import type { KubeObject } from './fixtures/store.js';

export const NS = 'default';
export const ECHO_HOST = `echo.${NS}.svc.cluster.local`;
export const ECHO_PORT = 7070;

export interface EchoPod {
  name: string;
  ip: string;
  version: string;
}

const NET = 'networking.istio.io/v1alpha3';

function pod(p: EchoPod, targetPort: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: NS, labels: { app: 'echo', version: p.version } },
    spec: { containers: [{ name: 'echo', ports: [{ name: 'grpc', containerPort: targetPort }] }] },
    status: { podIP: p.ip, phase: 'Running' },
  };
}

/** Namespace, Service, Pods and the Endpoints Kubernetes would keep for them. */
export function echoService(pods: readonly EchoPod[], targetPort: number, endpointPods = pods): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS }, spec: {} },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo', namespace: NS },
      spec: {
        clusterIP: '10.0.0.10',
        selector: { app: 'echo' },
        ports: [{ name: 'grpc', port: ECHO_PORT, targetPort }],
      },
    },
    ...pods.map((p) => pod(p, targetPort)),
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'echo', namespace: NS },
      subsets: [
        {
          addresses: endpointPods.map((p) => ({
            ip: p.ip,
            targetRef: { kind: 'Pod', name: p.name, namespace: NS },
          })),
          ports: [{ name: 'grpc', port: targetPort, protocol: 'TCP' }],
        },
      ],
    },
  ];
}

/** DestinationRule with one subset per version label. */
export function echoSubsets(...versions: string[]): KubeObject {
  return {
    apiVersion: NET,
    kind: 'DestinationRule',
    metadata: { name: 'echo', namespace: NS },
    spec: { host: 'echo', subsets: versions.map((v) => ({ name: v, labels: { version: v } })) },
  };
}

/** VirtualService `echo` with the given http routes. */
export function echoRoutes(http: unknown[]): KubeObject {
  return {
    apiVersion: NET,
    kind: 'VirtualService',
    metadata: { name: 'echo', namespace: NS },
    spec: { hosts: ['echo'], http },
  };
}

/** A route to one subset (or a weighted split when given several `[subset, weight]`). */
export function toSubsets(...dests: Array<[string, number]>): { route: unknown[] } {
  return {
    route: dests.map(([subset, weight]) => ({
      destination: { host: 'echo', subset },
      ...(dests.length > 1 ? { weight } : {}),
    })),
  };
}

/** A node id and metadata of a proxyless gRPC client pod. */
export function grpcClientNode(pod: string, ip: string): { id: string; metadata: Record<string, unknown> } {
  return {
    id: `sidecar~${ip}~${pod}.${NS}~${NS}.svc.cluster.local`,
    metadata: {
      GENERATOR: 'grpc',
      ISTIO_VERSION: '1.4.10',
      NAMESPACE: NS,
      INSTANCE_IPS: ip,
      LABELS: { app: 'client' },
    },
  };
}

/** An EnvoyFilter that merges `lb_policy: MAGLEV` into every outbound cluster of `host`. */
export function maglevFilter(): KubeObject {
  return {
    apiVersion: NET,
    kind: 'EnvoyFilter',
    metadata: { name: 'maglev', namespace: NS },
    spec: {
      configPatches: [
        {
          applyTo: 'CLUSTER',
          match: { context: 'SIDECAR_OUTBOUND', cluster: { service: ECHO_HOST } },
          patch: { operation: 'MERGE', value: { lb_policy: 'MAGLEV' } },
        },
      ],
    },
  };
}
