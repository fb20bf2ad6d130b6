// The proxyless matrix: one mesh (service `echo` with v1/v2 pods, service `flaky`), YAML per step,
// and one interface over both real xDS clients (grpc-js-xds in process, gRPC C-core via python3-grpcio).
import * as grpc from '@grpc/grpc-js';
import { bootstrapConfig, type CallResult, echoDefinition, xdsClient } from '@keel/local';
import { startCcoreClient } from '@keel/testing';
import { stringify } from 'yaml';

export const NS = 'default';
export const ECHO_PODS = [
  { name: 'echo-v1', ip: '127.0.3.1', version: 'v1' },
  { name: 'echo-v2-a', ip: '127.0.3.2', version: 'v2' },
  { name: 'echo-v2-b', ip: '127.0.3.3', version: 'v2' },
] as const;
export const FLAKY_POD = { name: 'flaky-v1', ip: '127.0.3.4', version: 'v1' } as const;
export const ECHO_METHOD = '/keel.demo.v1.Echo/Call';

type Obj = Record<string, unknown>;
type Pod = { name: string; ip: string; version: string };

function service(name: string, port: number, pods: readonly Pod[], endpointPods: readonly Pod[]): Obj[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: NS, labels: { app: name } },
      spec: {
        clusterIP: name === 'echo' ? '10.96.3.1' : '10.96.3.2',
        selector: { app: name },
        ports: [{ name: 'grpc', port, targetPort: port }],
      },
    },
    ...pods.map((p) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.name, namespace: NS, labels: { app: name, version: p.version } },
      spec: { containers: [{ name: 'app', ports: [{ name: 'grpc', containerPort: port }] }] },
      status: { podIP: p.ip, phase: 'Running' },
    })),
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: NS },
      subsets: [
        {
          addresses: endpointPods.map((p) => ({
            ip: p.ip,
            targetRef: { kind: 'Pod', name: p.name, namespace: NS },
          })),
          ports: [{ name: 'grpc', port, protocol: 'TCP' }],
        },
      ],
    },
  ];
}

/** Namespace, the `echo` and `flaky` Services, their Pods and Endpoints (without the removed pods). */
export function platformYaml(port: number, removed: readonly string[] = []): string {
  const keep = (p: Pod) => !removed.includes(p.name);
  const objs = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    ...service('echo', port, ECHO_PODS, ECHO_PODS.filter(keep)),
    ...service('flaky', port, [FLAKY_POD], [FLAKY_POD]),
  ];
  return objs.map((o) => stringify(o)).join('---\n');
}

/**
 * DestinationRule `echo`: subsets v1 and v2, and `loadBalancer` when given. `maxRequests` (a
 * connection pool limit no test reaches) makes each version's clusters differ, so every client gets
 * a new CDS response even when its encoding of `loadBalancer` does not change.
 */
export function echoDestinationRule(loadBalancer?: Obj, maxRequests?: number): string {
  return stringify({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'DestinationRule',
    metadata: { name: 'echo', namespace: NS },
    spec: {
      host: 'echo',
      ...(loadBalancer
        ? {
            trafficPolicy: {
              loadBalancer,
              ...(maxRequests ? { connectionPool: { http: { http2MaxRequests: maxRequests } } } : {}),
            },
          }
        : {}),
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' } },
      ],
    },
  });
}

/** A `destination` to echo's subset (or the whole service when `subset` is empty). */
export const to = (subset: string, weight?: number): Obj => ({
  destination: { host: 'echo', ...(subset ? { subset } : {}) },
  ...(weight !== undefined ? { weight } : {}),
});

/** VirtualService `<host>` with the given http routes. */
export function virtualService(host: string, http: Obj[]): string {
  return stringify({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'VirtualService',
    metadata: { name: host, namespace: NS },
    spec: { hosts: [host], http },
  });
}

/** An EnvoyFilter merging `lb_policy: MAGLEV` (which every gRPC client NACKs) into echo's clusters. */
export function maglevFilterYaml(): string {
  return stringify({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: 'echo-maglev', namespace: NS },
    spec: {
      configPatches: [
        {
          applyTo: 'CLUSTER',
          match: { context: 'SIDECAR_OUTBOUND', cluster: { service: `echo.${NS}.svc.cluster.local` } },
          patch: { operation: 'MERGE', value: { lb_policy: 'MAGLEV' } },
        },
      ],
    },
  });
}

/**
 * A backend that fails the first attempt of every call with UNAVAILABLE and answers the next one
 * (calls are told apart by their `x-call-id` header): without retries every call fails.
 */
export async function startFlakyBackend(port: number): Promise<{ attempts: () => number; stop(): void }> {
  const seen = new Set<string>();
  let attempts = 0;
  const server = new grpc.Server();
  server.addService(echoDefinition(), {
    Call: (call: grpc.ServerUnaryCall<{ message: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      attempts += 1;
      const id = String(call.metadata.get('x-call-id')[0] ?? '');
      if (!seen.has(id)) {
        if (seen.size > 100_000) seen.clear();
        seen.add(id);
        cb({ code: grpc.status.UNAVAILABLE, details: 'first attempt fails' });
        return;
      }
      cb(null, { server: FLAKY_POD.name, message: call.request.message });
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`${FLAKY_POD.ip}:${port}`, grpc.ServerCredentials.createInsecure(), (e) =>
      e ? reject(e) : resolve(),
    ),
  );
  return { attempts: () => attempts, stop: () => server.forceShutdown() };
}

/** One real xDS client as the matrix drives it. */
export interface MatrixClient {
  kind: 'grpc-js' | 'grpc-core';
  nodeId: string;
  /** One call to `host:port` (default: the echo target). */
  call(metadata?: Record<string, string>, opts?: { host?: string; timeoutMs?: number }): Promise<CallResult>;
  close(): Promise<void>;
}

/** grpc-js-xds in this process, one channel per target, with its own bootstrap. */
export function grpcJsMatrixClient(xdsServer: string, nodeId: string, port: number): MatrixClient {
  const channels = new Map<string, ReturnType<typeof xdsClient>>();
  const channel = (host: string) => {
    let c = channels.get(host);
    if (!c) {
      // Each grpc-js channel with its own bootstrap opens its own ADS stream: other targets get
      // their own node id, so `nodeId` names the echo channel's stream alone.
      const id = host === 'echo' ? nodeId : nodeId.replace(/~([^~.]+)\./, `~$1-${host}.`);
      c = xdsClient(`xds:///${host}.${NS}.svc.cluster.local:${port}`, id, xdsServer);
      channels.set(host, c);
    }
    return c;
  };
  return {
    kind: 'grpc-js',
    nodeId,
    call: (metadata, opts = {}) => channel(opts.host ?? 'echo').call(metadata, opts.timeoutMs),
    async close() {
      for (const c of channels.values()) c.close();
    },
  };
}

/** gRPC C-core (Debian python3-grpcio) in a child process, with its own bootstrap file. */
export async function ccoreMatrixClient(
  xdsServer: string,
  nodeId: string,
  port: number,
): Promise<MatrixClient> {
  const target = (host: string) => `xds:///${host}.${NS}.svc.cluster.local:${port}`;
  const c = await startCcoreClient({ bootstrap: bootstrapConfig(xdsServer, nodeId), target: target('echo') });
  return {
    kind: 'grpc-core',
    nodeId,
    async call(metadata, opts = {}) {
      const r = await c.call({
        target: target(opts.host ?? 'echo'),
        ...(metadata ? { metadata } : {}),
        ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      });
      return r.ok
        ? { ok: true, server: r.server }
        : { ok: false, code: r.code, codeName: r.codeName, details: r.details };
    },
    close: () => c.close(),
  };
}
