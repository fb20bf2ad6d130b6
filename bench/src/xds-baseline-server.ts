// Baseline xDS server: libs/xds serving a pre-built mesh snapshot per namespace (no generation), driven over
// stdin. Usage: node xds-baseline-server.js --services N [--pods 2] [--routed-every 10] [--namespaces 10]
// Commands (one a line): `route <n>`, `endpoint <n>`, `same`; each answered by a JSON line msg 'applied'.
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '@keel/runtime';
import { createXdsServer, SnapshotCache } from '@keel/xds';
import { MeshXds } from './xds-snapshot.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function main(): Promise<void> {
  const spec = {
    services: flag('services', 1000),
    namespaces: flag('namespaces', 10),
    podsPerService: flag('pods', 2),
    routedEvery: flag('routed-every', 10),
    serviceEntries: 0,
  };
  const mesh = new MeshXds(spec);
  const cache = new SnapshotCache();
  // One snapshot per namespace, as Pilot has one scope per namespace: clients key by their node's NAMESPACE.
  const publish = () => {
    for (const ns of mesh.namespaces()) cache.setSnapshot(ns, mesh.snapshot(ns));
  };
  publish();
  const xds = createXdsServer({
    cache,
    logger: silentLogger,
    nodeKey: (n) => String(n.metadata.NAMESPACE ?? ''),
    sendTimeoutMs: 60_000,
  });
  const server = new grpc.Server({
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
  });
  xds.addTo(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  say({ msg: 'baseline listening', grpcPort: port, resources: mesh.count() });
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    const n = Number(arg ?? 0);
    if (cmd === 'route') mesh.setRouteTimeout(n);
    else if (cmd === 'endpoint') mesh.bumpEndpoint(n);
    else if (cmd === 'stats') return say({ msg: 'stats', ...xds.stats(), streams: xds.streams().length });
    else if (cmd !== 'same') return say({ msg: 'unknown command', line });
    publish();
    say({ msg: 'applied', cmd });
  });
  const stop = () => {
    xds.close();
    server.forceShutdown();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
