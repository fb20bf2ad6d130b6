// Identity e2e helpers: citadel and pilot-agent processes, and an SDS client built on Envoy's SDS proto.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { serviceClient, unpackAny } from '@keel/proto';
import { type RunningProcess, repoRoot, startProcess } from '@keel/testing';

const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

export interface StartedProcess {
  proc: RunningProcess;
  /** The fields of the ready log line. */
  ready: Record<string, unknown>;
  stop(): Promise<void>;
}

async function startMain(
  service: string,
  args: string[],
  msg: string,
  env: Record<string, string> = {},
): Promise<StartedProcess> {
  const readyLine = new RegExp(`"msg":"${msg}"`);
  const proc = await startProcess(
    process.execPath,
    [path.join(repoRoot(), 'services', service, 'dist/src/main.js'), ...args],
    {
      cwd: repoRoot(),
      env,
      readyLine,
      timeoutMs: 20_000,
    },
  );
  const ready = JSON.parse(await proc.waitForLine(readyLine)) as Record<string, unknown>;
  return { proc, ready, stop: () => proc.stop() };
}

/** The citadel process in local mode on 127.0.0.1 with ports 0. */
export function startCitadelProcess(
  caDir: string,
  tokenFile: string,
  extra: string[] = [],
): Promise<StartedProcess> {
  return startMain(
    'citadel',
    [
      '--host',
      '127.0.0.1',
      '--grpc-port',
      '0',
      '--monitoring-port',
      '0',
      '--ca-dir',
      caDir,
      '--token-file',
      tokenFile,
      ...extra,
    ],
    'citadel listening',
  );
}

/** `pilot-agent proxy sidecar` with a workload directory `dir` (socket, certs, bootstraps under it). */
export function startAgentProcess(opts: {
  dir: string;
  caAddress: string;
  caRoot: string;
  tokenFile: string;
  podName: string;
  namespace: string;
  discoveryAddress: string;
  extra?: string[];
}): Promise<StartedProcess> {
  const d = (n: string) => path.join(opts.dir, n);
  return startMain(
    'pilot-agent',
    [
      'proxy',
      'sidecar',
      '--ca-address',
      opts.caAddress,
      '--ca-root-cert',
      opts.caRoot,
      '--token-path',
      opts.tokenFile,
      '--sds-uds-path',
      `unix:${d('sds.sock')}`,
      '--output-certs',
      d('certs'),
      '--configPath',
      d('proxy'),
      '--binaryPath',
      d('no-envoy'),
      '--discoveryAddress',
      opts.discoveryAddress,
      '--statusPort',
      '0',
      '--status-host',
      '127.0.0.1',
      '--key-algorithm',
      'ECDSA',
      ...(opts.extra ?? []),
    ],
    'pilot-agent ready',
    { POD_NAME: opts.podName, POD_NAMESPACE: opts.namespace, INSTANCE_IP: '127.0.0.1' },
  );
}

export interface SdsSecret {
  version: string;
  secret: Record<string, any>;
}

/** One SDS stream asking for `name`; ACKs every response and records it. */
export function sdsStream(socket: string, name: string, nodeId: string) {
  const Client = serviceClient('envoy.service.secret.v3.SecretDiscoveryService');
  const client = new Client(`unix:${socket}`, grpc.credentials.createInsecure());
  const call = (
    client as unknown as { StreamSecrets(): grpc.ClientDuplexStream<unknown, any> }
  ).StreamSecrets();
  const responses: SdsSecret[] = [];
  const node = { id: nodeId };
  call.on('data', (r: { version_info: string; nonce: string; resources: Record<string, any>[] }) => {
    const res = r.resources[0]!;
    responses.push({ version: r.version_info, secret: res['@type'] ? res : unpackAny(res as never) });
    call.write({
      node,
      version_info: r.version_info,
      response_nonce: r.nonce,
      resource_names: [name],
      type_url: SECRET_TYPE_URL,
    });
  });
  call.on('error', () => {});
  call.write({ node, resource_names: [name], type_url: SECRET_TYPE_URL });
  return {
    responses,
    close() {
      call.cancel();
      client.close();
    },
  };
}

/** Opens ADS with `credentials` and resolves with the first CDS response's resource count, or rejects with the gRPC error. */
export function firstCds(
  address: string,
  credentials: grpc.ChannelCredentials,
  nodeId: string,
  options: grpc.ChannelOptions = {},
): Promise<number> {
  const Client = serviceClient('envoy.service.discovery.v3.AggregatedDiscoveryService');
  const client = new Client(address, credentials, options);
  const call = (
    client as unknown as { StreamAggregatedResources(): grpc.ClientDuplexStream<unknown, any> }
  ).StreamAggregatedResources();
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no CDS response within 10 s')), 10_000);
    const finish = () => {
      clearTimeout(timer);
      call.cancel();
      client.close();
    };
    call.on('data', (r: { resources?: unknown[] }) => {
      finish();
      resolve(r.resources?.length ?? 0);
    });
    call.on('error', (e) => {
      finish();
      reject(e);
    });
    call.write({ node: { id: nodeId }, type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster' });
  });
}
