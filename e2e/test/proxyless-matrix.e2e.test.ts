// The proxyless matrix: every scenario against both real xDS clients (grpc-js-xds and gRPC C-core
// from Debian's python3-grpcio), config as YAML files -> galley -> MCP -> pilot -> ADS.
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Bus, connectBus, Subjects, type XdsNackEvent } from '@keel/bus';
import { type NatsServer, startNats, type TempDir, tempDir, waitFor } from '@keel/testing';
import {
  type Backends,
  type CallResult,
  freePortOn,
  type GalleyProcess,
  localMesh,
  metricValue,
  nodeIdFor,
  type PilotProcess,
  type Recorder,
  recordSubject,
  startBackends,
  startGalley,
  startPilot,
  syncEntry,
} from '../src/index.js';
import {
  ccoreMatrixClient,
  ECHO_METHOD,
  ECHO_PODS,
  echoDestinationRule,
  FLAKY_POD,
  grpcJsMatrixClient,
  type MatrixClient,
  maglevFilterYaml,
  platformYaml,
  startFlakyBackend,
  to,
  virtualService,
} from '../src/proxyless.js';

const KINDS = ['grpc-js', 'grpc-core'] as const;
const served = (r: CallResult) => (r.ok ? r.server : `error:${r.codeName}`);

/** Distinct outcomes of `n` sequential calls, sorted. */
async function outcomes(c: MatrixClient, n: number, md?: Record<string, string>): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(served(await c.call(md)));
  return [...seen].sort();
}

/** Calls until `k` results in a row satisfy `pred` (the old config has stopped answering). */
async function converge(
  c: MatrixClient,
  pred: (r: CallResult) => boolean,
  what: string,
  md?: Record<string, string>,
  k = 10,
) {
  const deadline = Date.now() + 15_000;
  let run = 0;
  let last: CallResult | undefined;
  while (run < k) {
    if (Date.now() > deadline)
      throw new Error(`${c.kind}: ${what}: not ${k} in a row within 15 s; last ${JSON.stringify(last)}`);
    last = await c.call(md);
    run = pred(last) ? run + 1 : 0;
  }
}

describe('proxyless matrix: grpc-js-xds and gRPC C-core through galley and pilot', () => {
  let nats: NatsServer;
  let dir: TempDir;
  let port: number;
  let backends: Backends;
  let flaky: Awaited<ReturnType<typeof startFlakyBackend>>;
  let galley: GalleyProcess;
  let pilot: PilotProcess;
  let bus: Bus;
  let nacks: Recorder<XdsNackEvent>;
  const clients = new Map<string, MatrixClient>();
  const file = (name: string) => path.join(dir.path, name);
  const client = (kind: string) => clients.get(kind)!;

  /** Sent/acked CDS nonces of `nodeId` in /debug/syncz. */
  const cds = async (nodeId: string) => {
    const e = syncEntry(await pilot.syncz(), nodeId);
    return { sent: String(e?.raw.cluster_sent ?? ''), acked: String(e?.raw.cluster_acked ?? '') };
  };

  /** Writes `text` to `name` and waits until every client ACKed a CDS response sent after the write. */
  async function writeAndAckClusters(name: string, text: string) {
    const before = new Map<string, string>();
    for (const c of clients.values()) before.set(c.nodeId, (await cds(c.nodeId)).sent);
    await writeFile(file(name), text);
    for (const c of clients.values()) {
      await waitFor(
        async () => {
          const s = await cds(c.nodeId);
          return s.sent !== before.get(c.nodeId) && s.sent === s.acked;
        },
        { what: `${c.kind} ACKs the clusters after ${name} changed`, timeoutMs: 15_000 },
      ).catch(async (e) => {
        const entry = syncEntry(await pilot.syncz(), c.nodeId);
        throw new Error(
          `${(e as Error).message}; before ${before.get(c.nodeId)}, now ${JSON.stringify(entry)}`,
        );
      });
    }
  }

  before(async () => {
    nats = await startNats();
    port = await freePortOn([...ECHO_PODS.map((p) => p.ip), FLAKY_POD.ip]);
    backends = await startBackends(
      ECHO_PODS.map((p) => ({ name: p.name, ip: p.ip })),
      port,
    );
    flaky = await startFlakyBackend(port);
    dir = await tempDir('e2e-proxyless');
    await writeFile(file('platform.yaml'), platformYaml(port));
    await writeFile(file('dr.yaml'), echoDestinationRule());
    await writeFile(file('vs-echo.yaml'), virtualService('echo', [{ route: [to('v1')] }]));
    await writeFile(
      file('vs-flaky.yaml'),
      virtualService('flaky', [{ route: [{ destination: { host: 'flaky' } }], retries: { attempts: 0 } }]),
    );
    galley = await startGalley({
      configDir: dir.path,
      natsUrl: nats.url,
      meshConfig: localMesh.meshConfig(),
    });
    pilot = await startPilot({ mcpAddress: galley.mcpAddress, natsUrl: nats.url });
    bus = await connectBus({ url: nats.url, name: 'e2e-proxyless' });
    nacks = recordSubject(bus, Subjects.xdsNack).recorder;
    await bus.connection.flush();
    clients.set('grpc-js', grpcJsMatrixClient(pilot.xdsAddress, nodeIdFor('matrix-js'), port));
    clients.set('grpc-core', await ccoreMatrixClient(pilot.xdsAddress, nodeIdFor('matrix-core'), port));
    for (const c of clients.values()) await converge(c, (r) => r.ok, 'first calls succeed', undefined, 1);
  });

  after(async () => {
    for (const c of clients.values()) await c.close();
    await bus?.close();
    await pilot?.stop();
    await galley?.stop();
    await backends?.stop();
    flaky?.stop();
    await nats?.stop();
    await dir?.cleanup();
  });

  describe('subset routing', () => {
    for (const kind of KINDS)
      it(`${kind}: every call goes to subset v1`, async () => {
        assert.deepEqual(await outcomes(client(kind), 30), ['echo-v1']);
      });
  });

  describe('live change', () => {
    before(() => writeFile(file('vs-echo.yaml'), virtualService('echo', [{ route: [to('v2')] }])));
    for (const kind of KINDS)
      it(`${kind}: a VirtualService edit moves every call to both v2 pods without restarts`, async () => {
        await converge(client(kind), (r) => r.ok && r.server.startsWith('echo-v2'), 'all-to-v2');
        assert.deepEqual(await outcomes(client(kind), 40), ['echo-v2-a', 'echo-v2-b']);
      });
  });

  describe('weighted split', () => {
    before(() =>
      writeFile(file('vs-echo.yaml'), virtualService('echo', [{ route: [to('v1', 80), to('v2', 20)] }])),
    );
    for (const kind of KINDS)
      it(`${kind}: 80/20 lands within 7 points over 500 calls`, async (t) => {
        const c = client(kind);
        await converge(c, (r) => r.ok && r.server === 'echo-v1', 'split', undefined, 1);
        let v1 = 0;
        for (let i = 0; i < 500; i++) if (served(await c.call()) === 'echo-v1') v1++;
        t.diagnostic(`v1 ${v1}/500`);
        assert.ok(Math.abs(v1 / 5 - 80) <= 7, `v1 got ${v1 / 5}%`);
      });
  });

  describe('every match kind of the bookinfo samples (headers exact; uri exact, prefix; port) and regex', () => {
    before(() =>
      writeFile(
        file('vs-echo.yaml'),
        virtualService('echo', [
          { match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: [to('v2')] },
          { match: [{ uri: { prefix: '/keel.demo.v1.Echo/Nope' } }], route: [to('v2')] },
          {
            match: [{ uri: { exact: ECHO_METHOD }, headers: { 'x-group': { prefix: 'beta' } } }],
            route: [to('v2')],
          },
          {
            match: [
              { uri: { regex: '/keel[.]demo[.]v1[.]Echo/.*' }, headers: { 'x-group': { regex: 'g[0-9]+' } } },
            ],
            route: [to('v2')],
          },
          { match: [{ port, headers: { 'x-port': { exact: 'yes' } } }], route: [to('v2')] },
          {
            match: [{ uri: { prefix: '/keel.demo.v1.' }, headers: { 'x-group': { exact: 'prefix' } } }],
            route: [to('v2')],
          },
          { route: [to('v1')] },
        ]),
      ),
    );
    for (const kind of KINDS)
      it(`${kind}: each matcher routes its calls to v2, the rest to v1`, async () => {
        const c = client(kind);
        await converge(c, (r) => r.ok && r.server.startsWith('echo-v2'), 'header route', {
          'end-user': 'jason',
        });
        await converge(c, (r) => r.ok && r.server === 'echo-v1', 'default route');
        for (const md of <Record<string, string>[]>[
          { 'end-user': 'jason' },
          { 'x-group': 'beta-1' },
          { 'x-group': 'g42' },
          { 'x-port': 'yes' },
          { 'x-group': 'prefix' },
        ]) {
          const got = await outcomes(c, 10, md);
          assert.ok(
            got.every((o) => o.startsWith('echo-v2')),
            `${JSON.stringify(md)} -> ${got.join(',')}`,
          );
        }
        for (const md of <Record<string, string>[]>[
          {},
          { 'end-user': 'bob' },
          { 'x-group': 'alpha' },
          { 'x-group': 'gx' },
          { 'x-port': 'no' },
        ])
          assert.deepEqual(await outcomes(c, 10, md), ['echo-v1'], JSON.stringify(md));
      });
  });

  describe('fault injection', () => {
    before(() =>
      writeFile(
        file('vs-echo.yaml'),
        virtualService('echo', [
          {
            match: [{ headers: { 'end-user': { exact: 'jason' } } }],
            fault: { abort: { httpStatus: 503, percentage: { value: 100 } } },
            route: [to('v1')],
          },
          {
            match: [{ headers: { 'end-user': { exact: 'slow' } } }],
            fault: { delay: { fixedDelay: '2s', percentage: { value: 100 } } },
            route: [to('v1')],
          },
          { route: [to('v1')] },
        ]),
      ),
    );
    for (const kind of KINDS)
      it(`${kind}: abort 503 -> UNAVAILABLE, a 2 s delay outlasts a 300 ms deadline, the rest served`, async () => {
        const c = client(kind);
        await converge(c, (r) => !r.ok, 'abort', { 'end-user': 'jason' });
        assert.deepEqual(await outcomes(c, 20, { 'end-user': 'jason' }), ['error:UNAVAILABLE']);
        const slow = await c.call({ 'end-user': 'slow' }, { timeoutMs: 300 });
        assert.equal(served(slow), 'error:DEADLINE_EXCEEDED');
        assert.deepEqual(await outcomes(c, 20), ['echo-v1']);
      });
  });

  describe('retries', () => {
    let seq = 0;
    const call = (c: MatrixClient) => c.call({ 'x-call-id': `${c.kind}-${++seq}` }, { host: 'flaky' });
    for (const kind of KINDS)
      it(`${kind}: without retries the flaky backend's first-attempt failures reach the caller`, async () => {
        const r = await call(client(kind));
        assert.equal(served(r), 'error:UNAVAILABLE');
      });
    describe('with retries: {attempts: 3, retryOn: unavailable}', () => {
      before(() =>
        writeFile(
          file('vs-flaky.yaml'),
          virtualService('flaky', [
            { route: [{ destination: { host: 'flaky' } }], retries: { attempts: 3, retryOn: 'unavailable' } },
          ]),
        ),
      );
      for (const kind of KINDS)
        it(`${kind}: every call succeeds on its second attempt`, async () => {
          const c = client(kind);
          const deadline = Date.now() + 15_000;
          while (!(await call(c)).ok) assert.ok(Date.now() < deadline, 'retries take effect within 15 s');
          const before = flaky.attempts();
          for (let i = 0; i < 20; i++) assert.equal(served(await call(c)), FLAKY_POD.name);
          assert.equal(flaky.attempts() - before, 40, 'two attempts a call');
        });
    });
  });

  describe('DestinationRule loadBalancer.simple: each value is accepted (never NACKed)', () => {
    before(() => writeFile(file('vs-echo.yaml'), virtualService('echo', [{ route: [to('v2')] }])));
    for (const [i, simple] of ['ROUND_ROBIN', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH'].entries()) {
      describe(simple, () => {
        let since = 0;
        before(async () => {
          since = nacks.mark();
          await writeAndAckClusters('dr.yaml', echoDestinationRule({ simple }, 10_000 + i));
        });
        for (const kind of KINDS)
          it(`${kind}: ACKed, no NACK, calls spread over both v2 pods`, async () => {
            const c = client(kind);
            await converge(c, (r) => r.ok && r.server.startsWith('echo-v2'), 'v2 route');
            assert.deepEqual(await outcomes(c, 40), ['echo-v2-a', 'echo-v2-b']);
            const mine = nacks.items.slice(since).filter((e) => e.value.proxy === c.nodeId);
            assert.deepEqual(
              mine.map((e) => e.value.error),
              [],
            );
          });
      });
    }
    describe('consistentHash on header x-user', () => {
      let since = 0;
      before(async () => {
        since = nacks.mark();
        await writeAndAckClusters(
          'dr.yaml',
          echoDestinationRule({ consistentHash: { httpHeaderName: 'x-user' } }, 10_004),
        );
      });
      const noNack = (c: MatrixClient) =>
        assert.deepEqual(
          nacks.items
            .slice(since)
            .filter((e) => e.value.proxy === c.nodeId)
            .map((e) => e.value.error),
          [],
        );
      it('grpc-js: ring hash, each user sticks to one pod', async () => {
        const c = client('grpc-js');
        await converge(c, (r) => r.ok, 'ring hash serves');
        const pods = new Set<string>();
        for (const user of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6']) {
          const got = await outcomes(c, 10, { 'x-user': user });
          assert.equal(got.length, 1, `${user} -> ${got.join(',')}`);
          pods.add(got[0]!);
        }
        assert.ok([...pods].every((p) => p.startsWith('echo-v2')));
        noNack(c);
      });
      it('grpc-core: no ring hash (C-core 1.51 crashes on it): round robin, no NACK', async () => {
        const c = client('grpc-core');
        assert.deepEqual(await outcomes(c, 40, { 'x-user': 'u1' }), ['echo-v2-a', 'echo-v2-b']);
        noNack(c);
      });
    });
    it('LEAST_CONN, RANDOM and PASSTHROUGH were counted as degraded for both clients (pilot_xds_client_degraded)', async () => {
      const text = await pilot.metrics();
      for (const kind of KINDS)
        for (const simple of ['LEAST_CONN', 'RANDOM', 'PASSTHROUGH'])
          assert.ok(
            metricValue(text, 'pilot_xds_client_degraded', {
              client: kind,
              feature: `loadBalancer ${simple}`,
            }) > 0,
            `${kind} ${simple}`,
          );
    });
  });

  describe('endpoint removal', () => {
    before(() => writeFile(file('platform.yaml'), platformYaml(port, ['echo-v2-b'])));
    for (const kind of KINDS)
      it(`${kind}: the removed pod gets no more calls`, async () => {
        const c = client(kind);
        await converge(c, (r) => r.ok && r.server === 'echo-v2-a', 'v2-b removed', undefined, 30);
        assert.deepEqual(await outcomes(c, 40), ['echo-v2-a']);
      });
  });

  describe('NACK and recovery', () => {
    let since = 0;
    before(async () => {
      since = nacks.mark();
      await writeFile(file('filter.yaml'), maglevFilterYaml());
    });
    for (const kind of KINDS)
      it(`${kind}: a cluster it cannot run is NACKed, the last good config keeps serving`, async () => {
        const c = client(kind);
        const ev = await nacks.next((e) => e.proxy === c.nodeId, `NACK from ${kind}`, 15_000, since);
        assert.match(ev.value.typeUrl, /Cluster$/);
        assert.deepEqual(await outcomes(c, 20), ['echo-v2-a']);
      });
    describe('filter removed', () => {
      before(() => rm(file('filter.yaml')));
      for (const kind of KINDS)
        it(`${kind}: ACKs the next clusters and keeps serving`, async () => {
          const c = client(kind);
          await waitFor(
            async () => {
              const s = await cds(c.nodeId);
              return s.sent !== '' && s.sent === s.acked;
            },
            { what: `${kind} ACKs once the filter is gone`, timeoutMs: 15_000 },
          );
          assert.deepEqual(await outcomes(c, 20), ['echo-v2-a']);
        });
    });
  });
  it('each degradation was logged once per client and cluster, though later pushes rebuilt them (consistentHash for C-core)', () => {
    const lines = pilot.proc.stdoutLines.filter((l) =>
      l.includes('loadBalancer consistentHash is not supported'),
    );
    const keys = lines.map((l) => {
      const j = JSON.parse(l) as { client: string; resource: string; config: string };
      assert.equal(j.config, 'DestinationRule default/echo');
      return `${j.client} ${j.resource}`;
    });
    // Three echo clusters (all, v1, v2) for C-core (grpc-js runs ring hash); the NACK steps rebuilt them.
    assert.equal(keys.length, 3, keys.join('\n'));
    assert.ok(keys.every((k) => k.startsWith('grpc-core ')));
    assert.equal(new Set(keys).size, 3);
  });
});
