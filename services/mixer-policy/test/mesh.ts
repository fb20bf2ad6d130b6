// Test mesh: bookinfo YAML + policy samples -> a real Galley (validation, MCP) -> a real
// mixer-policy, plus Pilot's generator (read-only) for the ext_authz context_extensions each proxy
// gets, and a grpc-js ext_authz client sending CheckRequests shaped as Envoy sends them.
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createGalley, type Galley } from '@keel/galley';
import { createMcpSink, type McpSink } from '@keel/mcp';
import {
  buildPushContext,
  ConfigStore,
  generateProxyResources,
  parseNode,
  pilotCollections,
} from '@keel/pilot';
import { serviceClient } from '@keel/proto';
import { silentLogger } from '@keel/runtime';
import { repoRoot, sharedTestdata, type TempDir, tempDir, withTimeout } from '@keel/testing';
import { createMixerPolicy, type MixerPolicy } from '../src/index.js';

export const POLICY_DIR = sharedTestdata('samples', 'bookinfo', 'policy');

/** Pods of the test mesh: bookinfo's local pods plus two ingress gateways (in and out of 10.57/16). */
export const PODS = {
  productpage: { name: 'productpage-v1-local', ip: '127.0.1.1', sa: 'bookinfo-productpage', ns: 'default' },
  details: { name: 'details-v1-local', ip: '127.0.1.2', sa: 'bookinfo-details', ns: 'default' },
  reviewsV1: { name: 'reviews-v1-local', ip: '127.0.1.3', sa: 'bookinfo-reviews', ns: 'default' },
  reviewsV2: { name: 'reviews-v2-local', ip: '127.0.1.4', sa: 'bookinfo-reviews', ns: 'default' },
  reviewsV3: { name: 'reviews-v3-local', ip: '127.0.1.5', sa: 'bookinfo-reviews', ns: 'default' },
  ratings: { name: 'ratings-v1-local', ip: '127.0.1.6', sa: 'bookinfo-ratings', ns: 'default' },
  ingress: {
    name: 'istio-ingressgateway-7d8f9b6c4d-x2x7q',
    ip: '192.168.7.7',
    sa: 'istio-ingressgateway-service-account',
    ns: 'istio-system',
  },
  ingressInside: {
    name: 'istio-ingressgateway-7d8f9b6c4d-k9k9k',
    ip: '10.57.4.4',
    sa: 'istio-ingressgateway-service-account',
    ns: 'istio-system',
  },
} as const;
export type PodName = keyof typeof PODS;

const EXTRA = `
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Service
metadata: {name: istio-policy, namespace: istio-system, labels: {istio: mixer}}
spec:
  clusterIP: 10.96.0.50
  ports: [{name: grpc-mixer, port: 9091}]
  selector: {istio: mixer, istio-mixer-type: policy}
${[PODS.ingress, PODS.ingressInside]
  .map(
    (p) => `---
apiVersion: v1
kind: Pod
metadata:
  name: ${p.name}
  namespace: istio-system
  labels: {istio: ingressgateway, app: istio-ingressgateway}
spec:
  serviceAccountName: ${p.sa}
  containers: [{name: istio-proxy, image: docker.io/istio/proxyv2:1.4.10}]
status: {phase: Running, podIP: ${p.ip}}
`,
  )
  .join('')}`;

const MESH = `mixerCheckServer: istio-policy.istio-system.svc.cluster.local:9091
disablePolicyChecks: false
policyCheckFailOpen: false
`;

export interface PolicyMesh {
  policy: MixerPolicy;
  galley: Galley;
  grpcPort: number;
  /** The mTLS port when started with `secure`. */
  secureGrpcPort?: number;
  monitoringPort: number;
  /** Galley's MCP port (for more mixer-policy replicas). */
  mcpPort: number;
  /** ext_authz Check from one pod's sidecar view: `to` is the proxy whose inbound filter calls Mixer. */
  check(from: PodName, to: PodName, opts?: CheckOptions): Promise<any>;
  /** The context_extensions Pilot generated for a proxy's inbound HTTP route. */
  extensions(pod: PodName): Record<string, string>;
  /** The raw ext_authz client (for malformed requests). */
  client: grpc.Client & Record<string, any>;
  dir: TempDir;
  stop(): Promise<void>;
}

export interface CheckOptions {
  headers?: Record<string, string>;
  path?: string;
  /** Send the peer's SPIFFE principal (mTLS). Default true for mesh pods. */
  mtls?: boolean;
}

/** Starts galley + mixer-policy over bookinfo and the given policy sample files (names under POLICY_DIR or absolute). */
export async function startPolicyMesh(
  policyFiles: string[],
  opts: {
    extraYaml?: string;
    natsUrl?: string;
    mixerOnly?: boolean;
    secure?: { port: number; certDir: string; trustDomain: string };
  } = {},
): Promise<PolicyMesh> {
  const dir = await tempDir('mixer-policy');
  await copyFile(
    path.join(repoRoot(), 'deploy', 'local', 'config', 'bookinfo-platform.yaml'),
    path.join(dir.path, 'platform.yaml'),
  );
  await writeFile(
    path.join(dir.path, 'extra.yaml'),
    EXTRA + (opts.extraYaml ? `---\n${opts.extraYaml}` : ''),
  );
  for (const [i, f] of policyFiles.entries())
    await copyFile(
      path.isAbsolute(f) ? f : path.join(POLICY_DIR, f),
      path.join(dir.path, `policy-${i}.yaml`),
    );
  const meshFile = path.join(dir.path, '..', `${path.basename(dir.path)}-mesh.yaml`);
  await writeFile(meshFile, MESH);
  const galley = createGalley({
    configDir: dir.path,
    meshConfigFile: meshFile,
    host: '127.0.0.1',
    mcpPort: 0,
    monitoringPort: 0,
    debounceQuietMs: 20,
    debounceMaxMs: 50,
    logger: silentLogger,
  });
  const g = await galley.start();
  const mcpAddress = `127.0.0.1:${g.mcpPort}`;
  const policy = createMixerPolicy({
    mcpAddress,
    host: '127.0.0.1',
    grpcPort: 0,
    monitoringPort: 0,
    logger: silentLogger,
    ...(opts.natsUrl ? { natsUrl: opts.natsUrl } : {}),
    ...(opts.secure ? { secure: opts.secure } : {}),
  });
  const mcpPort = g.mcpPort;
  const configured = policy.nextConfig();
  const ports = await policy.start();
  await withTimeout(configured, 10_000, 'mixer-policy configuration');

  // Pilot's view of the same config, for the ext_authz filter and its context_extensions.
  const store = new ConfigStore();
  const pilotSink: McpSink = createMcpSink({
    address: mcpAddress,
    collections: pilotCollections(),
    apply: (u) => {
      const r = store.apply(u);
      if (!r.ok) throw new Error(r.errors);
    },
  });
  pilotSink.start();
  await withTimeout(pilotSink.whenSynced(), 10_000, 'pilot view sync');
  const push = buildPushContext(store.snapshot());
  await pilotSink.stop();
  const extCache = new Map<PodName, Record<string, string>>();
  const extensions = (pod: PodName): Record<string, string> => {
    const hit = extCache.get(pod);
    if (hit) return hit;
    const p = PODS[pod];
    const node = parseNode(
      {
        id: `sidecar~${p.ip}~${p.name}.${p.ns}~${p.ns}.svc.cluster.local`,
        metadata: {
          ISTIO_VERSION: '1.4.10',
          INSTANCE_IPS: p.ip,
          NAMESPACE: p.ns,
          INTERCEPTION_MODE: 'REDIRECT',
        },
      },
      push,
    );
    if (!node.ok) throw new Error(node.errors);
    const ext = inboundExtAuthz(generateProxyResources(push, node.value).listeners as any[], p.ip);
    extCache.set(pod, ext);
    return ext;
  };

  const client = extAuthzClient(ports.grpcPort);
  const check = (from: PodName, to: PodName, o: CheckOptions = {}) =>
    callCheck(client, checkRequest(from, to, extensions(to), o));

  return {
    policy,
    galley,
    grpcPort: ports.grpcPort,
    ...(ports.secureGrpcPort ? { secureGrpcPort: ports.secureGrpcPort } : {}),
    monitoringPort: ports.monitoringPort,
    mcpPort,
    check,
    extensions,
    client,
    dir,
    async stop() {
      client.close();
      await policy.stop();
      await galley.stop();
      await dir.cleanup();
    },
  };
}

/** A grpc-js ext_authz client for a mixer-policy gRPC port. */
export function extAuthzClient(port: number): grpc.Client & Record<string, any> {
  const Client = serviceClient('envoy.service.auth.v3.Authorization');
  return new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
}

export function callCheck(client: any, request: object): Promise<any> {
  return new Promise<any>((resolve, reject) =>
    client.Check(request, (e: Error | null, r: any) => (e ? reject(e) : resolve(r))),
  );
}

let seq = 0;

/** A CheckRequest as Envoy's ext_authz filter sends it for `from` calling `to` (inbound at `to`). */
export function checkRequest(
  from: PodName,
  to: PodName,
  ext: Record<string, string>,
  o: CheckOptions = {},
): object {
  const src = PODS[from];
  const dst = PODS[to];
  const mtls = o.mtls ?? src.ns === 'default';
  const reqPath = o.path ?? '/';
  const id = `req-${++seq}-${process.hrtime.bigint()}`;
  const now = Date.now();
  return {
    attributes: {
      source: {
        address: { socket_address: { address: src.ip, port_value: 40000 + (seq % 20000) } },
        ...(mtls ? { principal: `spiffe://cluster.local/ns/${src.ns}/sa/${src.sa}` } : {}),
      },
      destination: {
        address: { socket_address: { address: dst.ip, port_value: 9080 } },
        principal: `spiffe://cluster.local/ns/${dst.ns}/sa/${dst.sa}`,
      },
      request: {
        time: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 },
        http: {
          id,
          method: 'GET',
          headers: {
            ':authority': `${to}:9080`,
            ':path': reqPath,
            ':method': 'GET',
            'x-request-id': id,
            'user-agent': 'curl/7.64',
            ...o.headers,
          },
          path: reqPath,
          host: `${to}:9080`,
          scheme: 'http',
          protocol: 'HTTP/1.1',
        },
      },
      context_extensions: ext,
    },
  };
}

/** From generated listeners: the inbound `<ip>_9080` listener's ext_authz per-route context_extensions. */
export function inboundExtAuthz(listeners: any[], ip: string): Record<string, string> {
  const l = listeners.find((x) => x.name === `${ip}_9080`);
  if (!l) throw new Error(`no inbound listener ${ip}_9080`);
  for (const chain of l.filter_chains ?? []) {
    const hcm = chain.filters?.find(
      (f: any) => f.name === 'envoy.filters.network.http_connection_manager',
    )?.typed_config;
    if (!hcm?.http_filters?.some((f: any) => f.name === 'envoy.filters.http.ext_authz')) continue;
    for (const vh of hcm.route_config?.virtual_hosts ?? [])
      for (const r of vh.routes ?? []) {
        const ext =
          r.typed_per_filter_config?.['envoy.filters.http.ext_authz']?.check_settings?.context_extensions;
        if (ext) return ext;
      }
  }
  throw new Error(`no ext_authz filter with context_extensions on ${ip}_9080`);
}

/** Status fields of an ext_authz CheckResponse. */
export function outcome(r: any): { grpc: number; http: number; body: string } {
  return {
    grpc: r.status?.code ?? 0,
    http: r.denied_response
      ? Number(r.denied_response.status?.code === undefined ? 0 : httpCode(r.denied_response.status.code))
      : 200,
    body: r.denied_response?.body ?? '',
  };
}

const STATUS_NAMES: Record<string, number> = {
  Forbidden: 403,
  TooManyRequests: 429,
  Unauthorized: 401,
  ServiceUnavailable: 503,
  InternalServerError: 500,
  PreconditionFailed: 412,
  BadRequest: 400,
};
function httpCode(c: unknown): number {
  return typeof c === 'number' ? c : (STATUS_NAMES[String(c)] ?? Number(c));
}
