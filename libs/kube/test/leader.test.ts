import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { silentLogger } from '@keel/runtime';
import { withTimeout } from '@keel/testing';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  createInformer,
  electLeader,
  type KubeTestServer,
  type LeaderElection,
  startKubeTestServer,
} from '../src/index.js';
import { Recorder } from './helpers.js';

interface LeaseObj extends KubernetesObject {
  spec: { holderIdentity?: string; renewTime?: string; leaseTransitions?: number };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A test server plus an informer recording every state of the lease. */
async function setup(): Promise<{ s: KubeTestServer; leases: Recorder<LeaseObj> }> {
  const s = await startKubeTestServer();
  cleanups.push(() => s.close());
  const leases = new Recorder<LeaseObj>();
  const inf = createInformer<LeaseObj>({
    kubeConfig: s.kubeConfig(),
    path: '/apis/coordination.k8s.io/v1/namespaces/istio-system/leases',
    logger: silentLogger,
    onEvent: (type, obj) => {
      if (type !== 'delete') leases.push(obj);
    },
  });
  cleanups.push(() => inf.stop());
  await withTimeout(inf.start(), 5000, 'lease informer sync');
  return { s, leases };
}

/** Candidates sharing one "who leads now" set that fails the test on overlap. */
function candidates(s: KubeTestServer, leaseDurationMs = 400) {
  const leading = new Set<string>();
  const transitions = new Recorder<string>();
  const overlaps: string[] = [];
  const start = (identity: string): LeaderElection => {
    const e = electLeader({
      kubeConfig: s.kubeConfig(),
      namespace: 'istio-system',
      name: 'istio-galley',
      identity,
      leaseDurationMs,
      renewMs: 50,
      logger: silentLogger,
      onStartedLeading: () => {
        if (leading.size > 0) overlaps.push(`${identity} started while ${[...leading]} led`);
        leading.add(identity);
        transitions.push(`start:${identity}`);
      },
      onStoppedLeading: () => {
        leading.delete(identity);
        transitions.push(`stop:${identity}`);
      },
    });
    cleanups.push(() => e.stop());
    return e;
  };
  return { start, transitions, overlaps };
}

const renewalsBy = (leases: Recorder<LeaseObj>, who: string) =>
  leases.items.filter((l) => l.spec.holderIdentity === who).length;

test('the first candidate leads, the second waits, and takes over when the leader releases', async () => {
  const { s, leases } = await setup();
  const { start, transitions, overlaps } = candidates(s);
  const a = start('pod-a');
  await transitions.until((t) => t.includes('start:pod-a'), 'a leads');
  const b = start('pod-b');
  const before = renewalsBy(leases, 'pod-a');
  await leases.until(() => renewalsBy(leases, 'pod-a') >= before + 4, 'a renews while b campaigns');
  assert.equal(b.isLeader(), false);
  assert.equal(a.isLeader(), true);

  await a.stop();
  await transitions.until((t) => t.includes('start:pod-b'), 'b takes over');
  assert.deepEqual(transitions.items, ['start:pod-a', 'stop:pod-a', 'start:pod-b']);
  assert.deepEqual(overlaps, []);
  await leases.until((l) => l.at(-1)?.spec.holderIdentity === 'pod-b', 'lease shows b');
  const lease = leases.items.at(-1)!;
  assert.equal(lease.spec.holderIdentity, 'pod-b');
  assert.equal(lease.spec.leaseTransitions, 1, 'one hand-over');
});

test('a crashed leader (no release) is replaced after the lease duration', async () => {
  const { s, leases } = await setup();
  const { start, transitions, overlaps } = candidates(s, 300);
  const a = start('pod-a');
  await transitions.until((t) => t.includes('start:pod-a'), 'a leads');
  const b = start('pod-b');
  await a.stop({ release: false });
  const stoppedAt = Date.now();
  await transitions.until((t) => t.includes('start:pod-b'), 'b takes over after expiry');
  assert.ok(Date.now() - stoppedAt >= 200, 'not before the lease expired');
  assert.equal(b.isLeader(), true);
  assert.deepEqual(overlaps, []);
  await leases.until((l) => l.at(-1)?.spec.holderIdentity === 'pod-b', 'lease shows b');
});

test('simultaneous candidates: compare-and-set elects exactly one', async () => {
  const { s, leases } = await setup();
  const { start, transitions, overlaps } = candidates(s);
  const all = ['pod-a', 'pod-b', 'pod-c'].map((id) => start(id));
  await transitions.until((t) => t.length >= 1, 'someone leads');
  const winner = transitions.items[0]!.slice('start:'.length);
  const before = renewalsBy(leases, winner);
  await leases.until(() => renewalsBy(leases, winner) >= before + 5, 'winner keeps renewing');
  assert.deepEqual(transitions.items, [`start:${winner}`]);
  assert.deepEqual(
    all.map((e) => e.isLeader()),
    ['pod-a', 'pod-b', 'pod-c'].map((id) => id === winner),
  );
  assert.deepEqual(overlaps, []);
});
