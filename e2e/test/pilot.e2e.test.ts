import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type Bus,
  connectBus,
  type PilotStatusReply,
  Subjects,
  type XdsNackEvent,
  type XdsRejectedEvent,
} from '@keel/bus';
import { type NatsServer, startNats, type TempDir, tempDir, waitFor } from '@keel/testing';
import {
  type Backends,
  type CallResult,
  type CallTally,
  copyLocalMesh,
  freePortOn,
  type GalleyProcess,
  localMesh,
  metricValue,
  nodeIdFor,
  type PilotProcess,
  REVIEWS_PODS,
  type Recorder,
  recordSubject,
  reviewsVs,
  splitOutReviewsVs,
  startBackends,
  startGalley,
  startPilot,
  syncEntry,
  withoutEndpoint,
  type XdsEchoClient,
  xdsClient,
} from '../src/index.js';

const served = (r: CallResult) => (r.ok ? r.server : `error:${r.codeName}`);
const JASON = { 'end-user': 'jason' };

/** Calls until `k` consecutive results satisfy `pred` (a change is in effect once old results stop). */
async function untilConsecutive(
  client: XdsEchoClient,
  pred: (r: CallResult) => boolean,
  k: number,
  what: string,
) {
  const deadline = Date.now() + 8000;
  let run = 0;
  let last: CallResult | undefined;
  while (run < k) {
    if (Date.now() > deadline)
      throw new Error(`${what}: not ${k} in a row within 8 s; last ${JSON.stringify(last)}`);
    last = await client.call();
    run = pred(last) ? run + 1 : 0;
  }
}

const only = (tally: CallTally): string[] => [...tally.servers.keys(), ...tally.errors.keys()].sort();

describe('pilot process with galley, real nats-server, proxyless grpc-js-xds clients', () => {
  let nats: NatsServer;
  let dir: TempDir;
  let backends: Backends;
  let galley: GalleyProcess;
  let pilot: PilotProcess;
  let bus: Bus;
  let nacks: Recorder<XdsNackEvent>;
  let rejected: Recorder<XdsRejectedEvent>;
  let target: string;
  let vsFile: string;
  let main: XdsEchoClient;
  const clients: XdsEchoClient[] = [];
  const client = (name: string) => {
    const c = xdsClient(target, nodeIdFor(name), pilot.xdsAddress);
    clients.push(c);
    return c;
  };

  before(async () => {
    nats = await startNats();
    const port = await freePortOn(REVIEWS_PODS.map((p) => p.ip));
    backends = await startBackends([...REVIEWS_PODS], port);
    dir = await tempDir('e2e-pilot');
    await copyLocalMesh(dir.path, port);
    vsFile = path.join(dir.path, 'reviews-vs.yaml');
    await splitOutReviewsVs(dir.path, vsFile);
    galley = await startGalley({
      configDir: dir.path,
      natsUrl: nats.url,
      meshConfig: localMesh.meshConfig(),
    });
    pilot = await startPilot({ mcpAddress: galley.mcpAddress, natsUrl: nats.url });
    bus = await connectBus({ url: nats.url, name: 'e2e-pilot' });
    nacks = recordSubject(bus, Subjects.xdsNack).recorder;
    rejected = recordSubject(bus, Subjects.xdsRejected).recorder;
    await bus.connection.flush();
    target = `xds:///reviews.default.svc.cluster.local:${port}`;
    main = client('main');
  });

  after(async () => {
    for (const c of clients) c.close();
    await bus?.close();
    await pilot?.stop();
    await galley?.stop();
    await backends?.stop();
    await nats?.stop();
    await dir?.cleanup();
  });

  it('routes by header (end-user: jason -> v2) and splits the rest between v1 and v3 (local mesh)', async () => {
    const first = await main.call(JASON, 15_000);
    assert.deepEqual(first, { ok: true, server: 'reviews-v2' });
    const jason = await main.callMany(50, JASON);
    assert.deepEqual(only(jason), ['reviews-v2']);
    const rest = await client('header-other').callMany(200);
    assert.deepEqual(only(rest), ['reviews-v1', 'reviews-v3']);
  });

  it('sent the local mesh without repairing or leaving out anything (no keel.events.xds.rejected)', async () => {
    // Pilot publishes in order on one connection: its status reply comes after any event of the
    // pushes the clients already received.
    const reply = await bus.request<PilotStatusReply>(Subjects.pilotStatus, {}, 2000);
    assert.ok(reply.ok);
    assert.deepEqual(
      rejected.items.map((e) => e.value),
      [],
    );
  });

  it('answers keel.pilot.status over NATS with its connected proxies', async () => {
    const replies = await bus.requestMany<PilotStatusReply>(Subjects.pilotStatus, {}, 1000);
    assert.equal(replies.length, 1, 'one pilot replica answers');
    const ids = replies[0]!.proxies.map((p) => p.proxy);
    assert.ok(ids.includes(main.nodeId), `${main.nodeId} in ${ids.join(', ')}`);
    assert.ok(replies[0]!.pilot.length > 0);
  });

  it('splits 80/20 within 5 points over 1,000 calls', async (t) => {
    await writeFile(vsFile, reviewsVs({ weights: { v1: 80, v2: 20 } }));
    await main.callUntil((r) => served(r) === 'reviews-v2', 'v2 appears without the header');
    const before = new Map(backends.served);
    const tally = await main.callMany(1000);
    for (const name of ['reviews-v1', 'reviews-v2']) {
      const delta = (backends.served.get(name) ?? 0) - (before.get(name) ?? 0);
      assert.equal(delta, tally.servers.get(name), `${name} backend counted what the client saw`);
    }
    const v1 = tally.servers.get('reviews-v1') ?? 0;
    t.diagnostic(`v1 ${v1}, v2 ${tally.servers.get('reviews-v2') ?? 0}, errors ${tally.errors.size}`);
    assert.deepEqual(only(tally), ['reviews-v1', 'reviews-v2']);
    assert.ok(Math.abs(v1 / 10 - 80) <= 5, `v1 got ${v1 / 10}%`);
  });

  it('applies a VirtualService edit without restarting anything', async (t) => {
    const pids = [galley.proc.proc.pid, pilot.proc.proc.pid];
    const start = performance.now();
    await writeFile(vsFile, reviewsVs({ weights: { v3: 100 } }));
    await main.callUntil((r) => served(r) === 'reviews-v3', 'all-to-v3 takes effect');
    t.diagnostic(`file write to first call routed by it: ${(performance.now() - start).toFixed(0)} ms`);
    assert.deepEqual(only(await main.callMany(100)), ['reviews-v3']);
    assert.deepEqual([galley.proc.proc.pid, pilot.proc.proc.pid], pids);
    assert.equal(galley.proc.proc.exitCode, null);
    assert.equal(pilot.proc.proc.exitCode, null);
  });

  it('routes everything to subset v1 for every node', async () => {
    await writeFile(vsFile, reviewsVs({ weights: { v1: 100 } }));
    await main.callUntil((r) => served(r) === 'reviews-v1', 'all-to-v1 takes effect');
    assert.deepEqual(only(await main.callMany(200)), ['reviews-v1']);
    assert.deepEqual(only(await client('subset-other').callMany(100, JASON)), ['reviews-v1']);
  });

  it('aborts calls matching a header with the fault status, the rest still served', async () => {
    await writeFile(vsFile, reviewsVs({ weights: { v1: 100 }, jasonAbort: 503 }));
    const r = await main.callUntil((x) => !x.ok, 'fault abort takes effect', { metadata: JASON });
    assert.equal(served(r), 'error:UNAVAILABLE');
    assert.deepEqual(only(await main.callMany(100, JASON)), ['UNAVAILABLE']);
    assert.deepEqual(only(await main.callMany(100)), ['reviews-v1']);
  });

  it('stops sending calls to an endpoint removed from the Endpoints YAML', async () => {
    await writeFile(vsFile, reviewsVs({}));
    await main.callUntil((r) => served(r) === 'reviews-v3', 'the unsubsetted route takes effect');
    assert.deepEqual(only(await main.callMany(150)), ['reviews-v1', 'reviews-v2', 'reviews-v3']);
    const platform = path.join(dir.path, 'bookinfo-platform.yaml');
    await writeFile(platform, withoutEndpoint(await readFile(platform, 'utf8'), 'reviews-v3-local'));
    await untilConsecutive(main, (r) => r.ok && r.server !== 'reviews-v3', 30, 'v3 endpoint removed');
    assert.deepEqual(only(await main.callMany(200)), ['reviews-v1', 'reviews-v2']);
  });

  it('a cluster the client NACKs: the client keeps the last good config; NACK in syncz, metrics and NATS', async () => {
    const nacking = client('nacking');
    assert.deepEqual(only(await nacking.callMany(60)), ['reviews-v1', 'reviews-v2']);
    const since = nacks.mark();
    const filter = path.join(dir.path, 'maglev-filter.yaml');
    await writeFile(filter, maglevEnvoyFilter());
    const ev = await nacks.next(
      (e) => e.proxy === nacking.nodeId,
      'keel.events.xds.nack for the client',
      10_000,
      since,
    );
    assert.match(ev.value.typeUrl, /envoy\.config\.cluster\.v3\.Cluster$/);
    assert.match(ev.value.error, /MAGLEV/);
    assert.deepEqual(
      only(await nacking.callMany(100)),
      ['reviews-v1', 'reviews-v2'],
      'last good config kept',
    );
    await waitFor(async () => metricValue(await pilot.metrics(), 'pilot_total_xds_rejects') > 0, {
      what: 'pilot_total_xds_rejects > 0',
    });
    await waitFor(
      async () => /MAGLEV/.test(syncEntry(await pilot.syncz(), nacking.nodeId)?.lastNack?.error ?? ''),
      {
        what: `/debug/syncz shows the NACK of ${nacking.nodeId}`,
      },
    );
    const entry = syncEntry(await pilot.syncz(), nacking.nodeId);
    assert.match(entry?.lastNack?.type ?? '', /Cluster$/);
    assert.notEqual(entry?.raw.cluster_sent, entry?.raw.cluster_acked, 'the NACKed nonce is not ACKed');
    await rm(filter);
    await waitFor(
      async () => {
        const e = syncEntry(await pilot.syncz(), nacking.nodeId);
        return !!e && e.raw.cluster_sent !== '' && e.raw.cluster_sent === e.raw.cluster_acked;
      },
      { what: 'the client ACKs the config once the filter is gone' },
    );
    assert.deepEqual(only(await nacking.callMany(50)), ['reviews-v1', 'reviews-v2']);
  });
});

function maglevEnvoyFilter(): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: reviews-maglev, namespace: default}
spec:
  configPatches:
  - applyTo: CLUSTER
    match:
      context: SIDECAR_OUTBOUND
      cluster:
        service: reviews.default.svc.cluster.local
    patch:
      operation: MERGE
      value:
        lb_policy: MAGLEV
`;
}
