import * as grpc from '@grpc/grpc-js';
import { serviceClient } from '@keel/proto';

/** The bookinfo workloads of deploy/local/config: each runs a real gRPC Echo server on its pod IP. */
export const LOCAL_WORKLOADS = [
  { name: 'productpage-v1', ip: '127.0.1.1' },
  { name: 'details-v1', ip: '127.0.1.2' },
  { name: 'reviews-v1', ip: '127.0.1.3' },
  { name: 'reviews-v2', ip: '127.0.1.4' },
  { name: 'reviews-v3', ip: '127.0.1.5' },
  { name: 'ratings-v1', ip: '127.0.1.6' },
] as const;
export const LOCAL_PORT = 9080;

const ECHO = 'keel.demo.v1.Echo';

interface EchoReply {
  server: string;
  message: string;
}

/** Starts one Echo server per workload, each answering with its workload name. */
export async function startBackends(
  workloads: ReadonlyArray<{ name: string; ip: string }>,
  port: number,
): Promise<{ stop(): Promise<void> }> {
  const def = serviceClient(ECHO).service;
  const servers: grpc.Server[] = [];
  for (const w of workloads) {
    const server = new grpc.Server();
    server.addService(def, {
      Call: (
        call: grpc.ServerUnaryCall<{ message?: string }, EchoReply>,
        cb: grpc.sendUnaryData<EchoReply>,
      ) => cb(null, { server: w.name, message: call.request.message ?? '' }),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`${w.ip}:${port}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    servers.push(server);
  }
  return {
    stop: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.tryShutdown(() => r()))));
    },
  };
}

/** The xDS bootstrap of a proxyless client in namespace `default`, as pilot-agent would write it. */
export function demoBootstrap(xdsServer: string, nodeId: string): string {
  return JSON.stringify({
    xds_servers: [
      { server_uri: xdsServer, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
    ],
    // grpc-js-xds refuses a bootstrap node without a locality.
    node: { id: nodeId, locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
  });
}

export interface DemoClient {
  /** One call through the mesh; resolves with the serving workload or the gRPC error text. */
  call(headers?: Record<string, string>): Promise<string>;
  close(): void;
}

/** A `@grpc/grpc-js-xds` client of `xds:///<target>`: routing is whatever pilot says. */
export async function demoClient(target: string, xdsServer: string, nodeId: string): Promise<DemoClient> {
  const xds = await import('@grpc/grpc-js-xds');
  xds.register();
  const Client = serviceClient(ECHO);
  const client = new Client(`xds:///${target}`, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': demoBootstrap(xdsServer, nodeId),
  } as grpc.ChannelOptions);
  return {
    call(headers = {}) {
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(headers)) md.set(k, v);
      return new Promise((resolve) => {
        (
          client as unknown as {
            Call: (
              r: object,
              m: grpc.Metadata,
              o: object,
              cb: (e: grpc.ServiceError | null, r?: EchoReply) => void,
            ) => void;
          }
        ).Call({ message: 'hello' }, md, { deadline: Date.now() + 3000 }, (err, reply) =>
          resolve(
            err ? `error: ${grpc.status[err.code] ?? err.code} ${err.details}` : (reply?.server ?? '?'),
          ),
        );
      });
    },
    close: () => client.close(),
  };
}

/**
 * Calls reviews every `intervalMs` and prints the split every `reportEvery` calls, plus one call as
 * user jason (header match): edit deploy/local/config/bookinfo-networking.yaml and watch it change.
 */
export function runSplitDemo(
  client: DemoClient,
  print: (line: string) => void,
  intervalMs = 100,
  reportEvery = 50,
): () => void {
  let tally = new Map<string, number>();
  let calls = 0;
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const who = await client.call();
      tally.set(who, (tally.get(who) ?? 0) + 1);
      if (++calls % reportEvery === 0) {
        const jason = await client.call({ 'end-user': 'jason' });
        const split = [...tally.entries()]
          .sort()
          .map(([k, v]) => `${k} ${Math.round((100 * v) / reportEvery)}%`)
          .join(', ');
        print(`reviews split over the last ${reportEvery} calls: ${split}; end-user jason -> ${jason}`);
        tally = new Map();
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
}
