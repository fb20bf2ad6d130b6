// Two mixer-policy processes sharing one nats-server enforce one quota (the redisquota rolling-window
// sample on JetStream KV); with NATS down they keep answering from their local fallback, and they
// share the counters again once it returns. Denials are published (sampled) on NATS.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectBus, type PolicyDeniedEvent, Subjects } from '@keel/bus';
import {
  type NatsServer,
  type RunningProcess,
  repoRoot,
  startNats,
  startProcess,
  withTimeout,
} from '@keel/testing';
import {
  callCheck,
  checkRequest,
  extAuthzClient,
  outcome,
  type PodName,
  type PolicyMesh,
  startPolicyMesh,
} from './mesh.js';

const MAIN = path.join(repoRoot(), 'services', 'mixer-policy', 'dist', 'src', 'main.js');

interface Replica {
  proc: RunningProcess;
  client: any;
}

async function startReplica(mcpPort: number, natsUrl: string, name: string): Promise<Replica> {
  const proc = await startProcess(
    process.execPath,
    [
      MAIN,
      '--mcp-address',
      `127.0.0.1:${mcpPort}`,
      '--grpc-port',
      '0',
      '--monitoring-port',
      '0',
      '--host',
      '127.0.0.1',
    ],
    { env: { KEEL_NATS_URL: natsUrl, POD_NAME: name }, readyLine: /mixer-policy listening/ },
  );
  const line = await proc.waitForLine(/mixer-policy listening/);
  const port = Number(/"grpcPort":(\d+)/.exec(line)![1]);
  await proc.waitForLine(/"rules":1,.*policy configuration in force/, 10_000);
  await proc.waitForLine(/connected to NATS/, 10_000);
  return { proc, client: extAuthzClient(port) };
}

describe('shared quota on NATS JetStream KV across two mixer-policy processes', () => {
  let nats: NatsServer;
  let mesh: PolicyMesh;
  let a: Replica;
  let b: Replica;
  const denials: PolicyDeniedEvent[] = [];
  let gotDenial: () => void = () => {};
  const firstDenial = new Promise<void>((resolve) => {
    gotDenial = resolve;
  });
  let closeWatcher: () => Promise<void>;

  before(async () => {
    nats = await startNats();
    mesh = await startPolicyMesh(['mixer-rule-ratings-redis-quota-rolling-window.yaml']);
    [a, b] = await Promise.all([
      startReplica(mesh.mcpPort, nats.url, 'policy-a'),
      startReplica(mesh.mcpPort, nats.url, 'policy-b'),
    ]);
    const watcher = await connectBus({ url: nats.url, name: 'test-watcher' });
    watcher.subscribe(Subjects.policyDenied, (e) => {
      denials.push(e);
      gotDenial();
    });
    closeWatcher = () => watcher.close();
  });
  after(async () => {
    a?.client.close();
    b?.client.close();
    await Promise.all([a?.proc.stop(), b?.proc.stop()]);
    await closeWatcher?.();
    await mesh?.stop();
    await nats?.stop();
  });

  /** Sends n checks from `from` to ratings, alternating replicas; HTTP statuses per replica. */
  async function burst(from: PodName, n: number) {
    const codes = { a: [] as number[], b: [] as number[] };
    const ext = mesh.extensions('ratings');
    for (let i = 0; i < n; i++) {
      const r = i % 2 === 0 ? a : b;
      const res = outcome(await callCheck(r.client, checkRequest(from, 'ratings', ext)));
      (i % 2 === 0 ? codes.a : codes.b).push(res.http);
    }
    return codes;
  }
  const count = (xs: number[], c: number) => xs.filter((x) => x === c).length;

  it('enforces one limit together: reviews -> ratings gets 50 per 30 s across both replicas', async () => {
    const codes = await burst('reviewsV1', 60);
    assert.equal(count(codes.a, 200) + count(codes.b, 200), 50);
    assert.equal(count(codes.a, 429) + count(codes.b, 429), 10);
    assert.equal(count(codes.a, 200), 25, 'replica a granted half');
    // Both replicas see the shared counter: after 50 grants each one denies.
    assert.deepEqual(codes.a.slice(-5), [429, 429, 429, 429, 429]);
    assert.deepEqual(codes.b.slice(-5), [429, 429, 429, 429, 429]);
  });

  it('publishes sampled denial events on keel.events.policy.denied', async () => {
    const ext = mesh.extensions('ratings');
    await callCheck(a.client, checkRequest('reviewsV1', 'ratings', ext));
    await withTimeout(firstDenial, 5000, 'a denial event');
    assert.equal(denials[0]!.code, 'RESOURCE_EXHAUSTED');
    assert.equal(denials[0]!.httpStatus, 429);
    assert.match(
      denials[0]!.message,
      /^redishandler\.handler\.istio-system:Quota is exhausted for: requestcountquota$/,
    );
  });

  it('keeps answering with NATS down (local fallback) and shares the counter again when it returns', async () => {
    await nats.restart(async () => {
      await Promise.all([
        a.proc.waitForLine(/"status":"reconnecting"/, 10_000),
        b.proc.waitForLine(/"status":"reconnecting"/, 10_000),
      ]);
      const down = await burst('reviewsV3', 6);
      // Each replica counts locally against the same limit (50): everything is granted, nothing fails.
      assert.deepEqual(down, { a: [200, 200, 200], b: [200, 200, 200] });
    });
    await Promise.all([
      a.proc.waitForLine(/"status":"connected"/, 15_000),
      b.proc.waitForLine(/"status":"connected"/, 15_000),
    ]);
    // The counters NATS held survived the restart: reviews-v1 is still over its limit on both.
    assert.deepEqual(await burst('reviewsV1', 2), { a: [429], b: [429] });
    // A fresh dimension set is again limited jointly.
    const codes = await burst('reviewsV2', 56);
    assert.equal(count(codes.a, 200) + count(codes.b, 200), 50);
  });
});
