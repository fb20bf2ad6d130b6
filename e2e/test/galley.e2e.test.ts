import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Bus, type BusStatus, connectBus, Subjects } from '@keel/bus';
import type { McpUpdate } from '@keel/mcp';
import { unpackStruct } from '@keel/proto';
import { type NatsServer, startNats, type TempDir, tempDir, withTimeout } from '@keel/testing';
import {
  copyLocalMesh,
  type GalleyProcess,
  galleyCollections,
  localMesh,
  metricValue,
  Recorder,
  recordingSink,
  recordSubject,
  startGalley,
} from '../src/index.js';

const VS = 'istio/networking/v1alpha3/virtualservices';
const SERVICES = 'k8s/core/v1/services';
const PROPAGATION_MS = 1500;

function vs(name: string, host: string, subset = 'v1'): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${host}]
  http:
  - route:
    - destination: {host: ${host}, subset: ${subset}}
`;
}

const subsetOf = (u: McpUpdate, name: string): string | undefined => {
  const r = u.resources.find((x) => x.metadata.name === name);
  return r ? JSON.stringify(unpackStruct(r.body)).match(/"subset":"(\w+)"/)?.[1] : undefined;
};

/** Writes (or removes) a file and resolves with how long until the sink applied a matching update. */
async function timedChange(
  updates: Recorder<McpUpdate>,
  change: () => Promise<void>,
  pred: (u: McpUpdate) => boolean,
  what: string,
): Promise<number> {
  const since = updates.mark();
  const start = performance.now();
  await change();
  const seen = await updates.next(pred, what, 5000, since);
  return seen.at - start;
}

describe('galley process (file mode, real nats-server, real MCP sink)', () => {
  let nats: NatsServer;
  let dir: TempDir;
  let galley: GalleyProcess;
  let bus: Bus;
  let rejected: Recorder<{
    file?: string;
    line?: number;
    kind: string;
    namespace: string;
    name: string;
    reason: string;
  }>;
  let mcp: ReturnType<typeof recordingSink>;

  before(async () => {
    nats = await startNats();
    dir = await tempDir('e2e-galley');
    await copyLocalMesh(dir.path, 9080);
    galley = await startGalley({
      configDir: dir.path,
      natsUrl: nats.url,
      meshConfig: localMesh.meshConfig(),
    });
    bus = await connectBus({ url: nats.url, name: 'e2e-galley', reconnectWaitMs: 100 });
    rejected = recordSubject(bus, Subjects.configRejected).recorder;
    await bus.connection.flush();
    mcp = recordingSink(galley.mcpAddress);
    mcp.sink.start();
  });

  after(async () => {
    await mcp?.sink.stop();
    await bus?.close();
    await galley?.stop();
    await nats?.stop();
    await dir?.cleanup();
  });

  it('serves every collection to an MCP sink, with the local mesh in it', async () => {
    await withTimeout(mcp.sink.whenSynced(), 10_000, 'sink synced');
    const received = new Set(mcp.updates.items.map((e) => e.value.collection));
    for (const c of galleyCollections()) assert.ok(received.has(c), `collection ${c} received`);
    assert.ok(mcp.sink.state(VS).has('default/reviews'));
    assert.ok(mcp.sink.state(SERVICES).has('default/reviews'));
    assert.equal(mcp.sink.state('istio/mesh/v1alpha1/MeshConfig').size, 1);
  });

  it('adds, changes and deletes a file within 1.5 s each', async (t) => {
    const file = path.join(dir.path, 'extra.yaml');
    const has = (u: McpUpdate) =>
      u.collection === VS && u.resources.some((r) => r.metadata.name === 'default/extra');
    const added = await timedChange(mcp.updates, () => writeFile(file, vs('extra', 'details')), has, 'add');
    const changed = await timedChange(
      mcp.updates,
      () => writeFile(file, vs('extra', 'details', 'v2')),
      (u) => u.collection === VS && subsetOf(u, 'default/extra') === 'v2',
      'change',
    );
    const deleted = await timedChange(
      mcp.updates,
      () => rm(file),
      (u) => u.collection === VS && !has(u),
      'delete',
    );
    for (const [what, ms] of Object.entries({ added, changed, deleted })) {
      t.diagnostic(`${what}: ${ms.toFixed(0)} ms from write to the sink's apply`);
      assert.ok(ms <= PROPAGATION_MS, `${what} took ${ms.toFixed(0)} ms`);
    }
    assert.ok(mcp.sink.state(VS).has('default/reviews'), 'the rest is untouched');
  });

  it('rejects a bad document, keeps the rest and the last good version, and publishes the rejection', async () => {
    const file = path.join(dir.path, 'mixed.yaml');
    await writeFile(file, `${vs('fine', 'ratings')}---\n${vs('kept', 'ratings')}`);
    await mcp.updates.next((u) => subsetOf(u, 'default/kept') === 'v1', 'good version applied', 5000);
    const since = mcp.updates.mark();
    const failedBefore = metricValue(await galley.metrics(), 'galley_validation_failed');
    // Document 2 (line 10) turns bad; document 3 is new and good.
    await writeFile(
      file,
      `${vs('fine', 'ratings')}---\n${vs('kept', 'foo.ba!r', 'v9')}---\n${vs('third', 'details')}`,
    );
    const ev = await rejected.next((e) => e.name === 'kept', 'config.rejected event on NATS', 5000);
    assert.equal(ev.value.file, 'mixed.yaml');
    assert.equal(ev.value.line, 10);
    assert.equal(ev.value.kind, 'VirtualService');
    assert.equal(ev.value.namespace, 'default');
    assert.match(ev.value.reason, /foo\.ba!r/);
    const third = await mcp.updates.next(
      (u) => u.resources.some((r) => r.metadata.name === 'default/third'),
      'good document in the same file applied',
      5000,
      since,
    );
    assert.equal(subsetOf(third.value, 'default/kept'), 'v1', 'the last good version is kept');
    assert.ok(third.value.resources.some((r) => r.metadata.name === 'default/fine'));
    assert.ok(third.value.resources.some((r) => r.metadata.name === 'default/reviews'));
    const metrics = await galley.metrics();
    assert.ok(metricValue(metrics, 'galley_validation_failed', { resource: 'virtualservices' }) > 0);
    assert.ok(metricValue(metrics, 'galley_validation_failed') > failedBefore);
  });

  it('keeps serving while nats-server is down and publishes again after it restarts', async () => {
    const statuses = new Recorder<BusStatus>();
    const off = bus.onStatus((s) => statuses.push(s));
    await nats.stop().catch(() => {});
    await statuses.next((s) => s !== 'connected', 'test bus notices NATS is gone', 5000);
    const file = path.join(dir.path, 'offline.yaml');
    const ms = await timedChange(
      mcp.updates,
      () => writeFile(file, vs('offline', 'details')),
      (u) => u.resources.some((r) => r.metadata.name === 'default/offline'),
      'change while NATS is down',
    );
    assert.ok(ms <= PROPAGATION_MS, `change without NATS took ${ms.toFixed(0)} ms`);
    assert.equal((await galley.get(galley.monitoringPort, '/ready')).status, 200);

    await nats.restart();
    await statuses.next((s) => s === 'connected', 'test bus reconnects', 10_000);
    off();
    const since = rejected.mark();
    await writeFile(path.join(dir.path, 'after-restart.yaml'), vs('after-restart', 'bad..host'));
    const ev = await rejected.next(
      (e) => e.name === 'after-restart',
      'rejection after NATS restart',
      10_000,
      since,
    );
    assert.equal(ev.value.file, 'after-restart.yaml');
  });

  it('exits 0 on SIGTERM', async () => {
    const code = await galley.stop();
    assert.equal(code, 0, `galley exit: ${galley.proc.stderrLines.slice(-5).join('\n')}`);
  });
});
