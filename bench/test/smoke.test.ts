// Keeps the benchmark code from rotting: tiny sizes, real servers on port 0, bounded waits.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '@keel/proto';
import { silentLogger } from '@keel/runtime';
import { createXdsServer, SnapshotCache } from '@keel/xds';
import { AdsLoad } from '../src/ads-load.js';
import { ingestOnce, meshFiles, parseOnly } from '../src/galley-ingest.js';
import { type MeshSpec, proxyNode } from '../src/mesh.js';
import { MeshXds } from '../src/xds-snapshot.js';

const spec: MeshSpec = { services: 5, namespaces: 2, podsPerService: 2, routedEvery: 2, serviceEntries: 0 }; // 5 clusters + v1/v2 for 3 routed = 11

test('galley-ingest --quick accepts every generated resource and snapshots them', () => {
  const files = meshFiles(100, 30);
  const run = ingestOnce(files);
  assert.equal(run.accepted, 100);
  assert.equal(run.rejected, 0);
  assert.ok(run.snapshotResources >= 100, `snapshot holds ${run.snapshotResources}`);
  assert.ok(parseOnly(files) > 0);
});

let server: grpc.Server;
let cache: SnapshotCache;
let mesh: MeshXds;
let address: string;
const publish = () => {
  for (const ns of mesh.namespaces()) cache.setSnapshot(ns, mesh.snapshot(ns));
};

before(async () => {
  mesh = new MeshXds(spec);
  cache = new SnapshotCache();
  publish();
  // As the baseline server: one snapshot per namespace, clients keyed by their node's NAMESPACE.
  const xds = createXdsServer({ cache, logger: silentLogger, nodeKey: (n) => String(n.metadata.NAMESPACE) });
  server = new grpc.Server();
  xds.addTo(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  address = `127.0.0.1:${port}`;
});

after(() => server.forceShutdown());

test('ads-load: every client gets full config, a route change sends RDS, an endpoint change only EDS', async () => {
  const nodes = Array.from({ length: 6 }, (_, i) => proxyNode(spec, i));
  const load = new AdsLoad({ address, nodes, channels: 2 });
  try {
    load.startAll();
    await load.until(() => load.fullCount() === nodes.length, 10_000, 'full config');
    const held = load.clients[0]?.state;
    assert.equal(held?.get('type.googleapis.com/envoy.config.cluster.v3.Cluster')?.resources, 11);
    assert.equal(
      held?.get('type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment')?.resources,
      11,
    );
    assert.equal(held?.get('type.googleapis.com/envoy.config.route.v3.RouteConfiguration')?.resources, 1);

    const rds = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
    const w1 = load.mark();
    mesh.setRouteTimeout(42);
    publish();
    await load.until(() => w1.clientsWith[rds] === nodes.length, 10_000, 'route change');
    assert.deepEqual(Object.keys(w1.byType), [rds]);

    const eds = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
    const w2 = load.mark();
    mesh.bumpEndpoint(3);
    publish();
    await load.until(() => w2.clientsWith[eds] === nodes.length, 10_000, 'endpoint change');
    assert.deepEqual(Object.keys(w2.byType), [eds]);
    assert.deepEqual(load.errors(), []);
  } finally {
    load.close();
  }
});

test('inject load: a real injector answers every 4 KB pod review with a patch, closed and open loop', async () => {
  const { execFileSync } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tempDir, repoRoot } = await import('@keel/testing');
  const { createSidecarInjector } = await import('@keel/sidecar-injector');
  const { AdmissionLoad, fourKbPod, reviewBody } = await import('../src/inject-load.js');
  const dir = await tempDir('bench-smoke-inject');
  const cert = join(dir.path, 'cert.pem');
  const key = join(dir.path, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'].concat([
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { stdio: 'ignore' },
  );
  const files = join(repoRoot(), 'services/sidecar-injector/files');
  const injector = createSidecarInjector({
    host: '127.0.0.1',
    port: 0,
    monitoringPort: 0,
    tlsCertFile: cert,
    tlsKeyFile: key,
    configFile: join(files, 'config.yaml'),
    valuesFile: join(files, 'values.json'),
    logger: silentLogger,
  });
  const { port } = await injector.start();
  const pod = fourKbPod();
  assert.ok(JSON.stringify(pod).length >= 4000, 'a 4 KB pod');
  const load = new AdmissionLoad(port, readFileSync(cert, 'utf8'), reviewBody(pod, 'smoke'), 4);
  try {
    const closed = await load.closed(20, 4);
    assert.equal(closed.errors, 0);
    assert.equal(closed.patched, 20);
    const open = await load.open(10, 200);
    assert.equal(open.latencies.length, 10);
    assert.equal(open.patched, 10);
  } finally {
    load.close();
    await injector.stop();
    await dir.cleanup();
  }
});

test('policy bench pieces: the bookinfo policy compiles and a decision-cache hit is measured', async () => {
  const { cacheHitCost } = await import('../src/policy-bench.js');
  const { policyRequests } = await import('../src/policy-load.js');
  assert.equal(policyRequests(7).length, 7);
  const hit = await cacheHitCost(2000);
  assert.ok(hit.getUs > 0 && hit.checkUs > 0);
});

test('telemetry load messages decode as Envoy StreamAccessLogsMessages', async () => {
  const { benchMesh, encodeReporterMessages } = await import('../src/telemetry-load.js');
  const { lookupType } = await import('@keel/proto');
  const mesh = benchMesh(3);
  const msgs = encodeReporterMessages(mesh.pods[0]!, mesh.pods.slice(1), 2, 5);
  const t = lookupType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
  const first = t.decode(msgs[0]!) as unknown as Record<string, any>;
  assert.match(first.identifier.node.id, /^sidecar~10\.1\.0\.1~svc-0-v1-/);
  assert.equal(first.http_logs.log_entry.length, 5);
  assert.equal((t.decode(msgs[1]!) as unknown as Record<string, any>).identifier, null);
  assert.match(mesh.yaml, /kind: Pod/);
});

test('ads-load: a call the server ends with trailers is counted and reopened with backoff', async () => {
  const ending = new grpc.Server();
  let calls = 0;
  ending.addService(serviceDefinition('envoy.service.discovery.v3.AggregatedDiscoveryService'), {
    StreamAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      calls += 1;
      call.on('error', () => {});
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'going away' });
    },
    DeltaAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
  });
  const port = await new Promise<number>((resolve, reject) =>
    ending.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const load = new AdsLoad({ address: `127.0.0.1:${port}`, nodes: [proxyNode(spec, 0)], channels: 1 });
  try {
    load.startAll();
    await load.until(() => load.streamStats().reconnects >= 2, 10_000, 'two reconnects');
    const s = load.streamStats();
    assert.ok(s.reconnects >= 2, `reopened: ${JSON.stringify(s)}`);
    assert.ok(s.serverEnded >= 2);
    assert.ok(calls >= 2, `server saw ${calls} calls`);
    assert.match(load.errors()[0] ?? '', /UNAVAILABLE: going away/);
  } finally {
    load.close();
    ending.forceShutdown();
  }
});
