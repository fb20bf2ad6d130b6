import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { serviceClient } from '@keel/proto';

export interface EchoRequest {
  message: string;
}
export interface EchoReply {
  server: string;
  message: string;
}

/** keel.demo.v1.Echo (proto/keel/demo/v1/echo.proto). */
export function echoDefinition(): grpc.ServiceDefinition {
  return serviceClient('keel.demo.v1.Echo').service;
}

/** A client constructor for keel.demo.v1.Echo (works with `xds:///` targets once grpc-js-xds is registered). */
export function echoClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(echoDefinition(), 'Echo');
}

export interface BackendSpec {
  /** Returned in every reply, e.g. `reviews-v1`. */
  name: string;
  /** A loopback address such as 127.0.1.3. */
  ip: string;
}

export interface Backends {
  /** The one port every backend listens on. */
  port: number;
  /** Calls served so far, by backend name. */
  served: Map<string, number>;
  stop(): Promise<void>;
}

/** True when `port` can be bound on every address (then released). */
async function portFreeOnAll(ips: string[], port: number): Promise<boolean> {
  const servers: net.Server[] = [];
  try {
    for (const ip of ips) {
      const s = net.createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, ip, () => resolve());
      });
    }
    return true;
  } catch {
    return false;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
}

/** A port free on every one of `ips` a moment ago. */
export async function freePortOn(ips: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const candidate = 20000 + Math.floor(Math.random() * 40000);
    if (await portFreeOnAll(ips, candidate)) return candidate;
  }
  throw new Error(`no port free on all of ${ips.join(', ')}`);
}

async function startOne(spec: BackendSpec, port: number, served: Map<string, number>): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(echoDefinition(), {
    Call: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      served.set(spec.name, (served.get(spec.name) ?? 0) + 1);
      cb(null, { server: spec.name, message: call.request.message });
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`${spec.ip}:${port}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return server;
}

/** Real grpc-js Echo servers, one per spec, on distinct loopback IPs sharing one port. */
export async function startBackends(specs: BackendSpec[], port?: number): Promise<Backends> {
  const ips = specs.map((s) => s.ip);
  const chosen = port ?? (await freePortOn(ips));
  const served = new Map<string, number>();
  const servers: grpc.Server[] = [];
  try {
    for (const spec of specs) servers.push(await startOne(spec, chosen, served));
  } catch (err) {
    for (const s of servers) s.forceShutdown();
    throw err;
  }
  return {
    port: chosen,
    served,
    async stop() {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.tryShutdown(() => resolve()))));
    },
  };
}
