// Cold start: the first full push builds the scopes of the registry's injected pods before any proxy
// connects; a sidecar connecting afterwards takes its scope from there and builds only its own part.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XDS_ORDER } from '@keel/proto';
import { newRegistry, silentLogger } from '@keel/runtime';
import { type NodeInfo, type Snapshot, SnapshotCache } from '@keel/xds';
import { parseNode } from '../src/model/proxy.js';
import { buildPushContext } from '../src/model/push-context.js';
import { sharedKey } from '../src/push/builds.js';
import { ProxyPusher, podNode } from '../src/push/pusher.js';
import type { PushRequest } from '../src/server/config-store.js';
import { pilotMetrics } from '../src/server/metrics.js';
import {
  BOOKINFO_YAML,
  type KubeObject,
  readObjects,
  runCluster,
  sidecarNode,
  snapshotOf,
  toConfigEntries,
} from './fixtures/index.js';

const INJECTED = { 'sidecar.istio.io/status': '{"version":"test","containers":["istio-proxy"]}' };

/** Bookinfo with its pods marked injected. */
function bookinfo(): KubeObject[] {
  return runCluster(readObjects([BOOKINFO_YAML])).map((o) =>
    o.kind === 'Pod'
      ? { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, ...INJECTED } } }
      : o,
  );
}

/** An injected pod of no service in `namespace`. */
const pod = (name: string, namespace: string, ip: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels: { app: name }, annotations: INJECTED },
  spec: { containers: [{ name: 'app', image: 'example/app:1.0' }] },
  status: { podIP: ip, phase: 'Running' },
});

const pushOf = (objects: readonly KubeObject[], seq: number) =>
  buildPushContext({ ...snapshotOf(toConfigEntries([...objects])), version: `v${seq}` });

const full: PushRequest = { full: true, kinds: new Set(), edsHosts: new Set(), start: Date.now() };

/** A cache that tells a waiting test when a node's snapshot is set (new connections are built on a later turn). */
class WatchedCache extends SnapshotCache {
  private readonly waiting = new Map<string, (s: Snapshot) => void>();

  override setSnapshot(nodeId: string, snapshot: Snapshot): void {
    super.setSnapshot(nodeId, snapshot);
    const wake = this.waiting.get(nodeId);
    this.waiting.delete(nodeId);
    wake?.(snapshot);
  }

  /** Resolves with `id`'s snapshot once one is set (at once when there is one). */
  whenSet(id: string): Promise<Snapshot> {
    const now = this.getSnapshot(id);
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }
}

function pusher(): { p: ProxyPusher; cache: WatchedCache } {
  const cache = new WatchedCache();
  const metrics = pilotMetrics(newRegistry('pilot', 'test'), 'test');
  return { p: new ProxyPusher({ cache, logger: silentLogger, metrics, throttle: 100 }), cache };
}

const bytes = (s: Snapshot) =>
  XDS_ORDER.map((t) =>
    [...s.resources(t).values()].map((r) => `${r.name}=${Buffer.from(r.encoded).toString('base64')}`),
  );

describe('scope prewarm on a cold start', () => {
  it("builds the injected pods' scopes before any proxy connects; a sidecar then builds only its own part", async () => {
    const objects = bookinfo();
    const push = pushOf(objects, 1);
    const { p, cache } = pusher();
    const status = await p.push(push, full);
    assert.equal(status.proxies, 0);
    const pods = [...push.workloadsByIp.values()];
    assert.ok(pods.length >= 4, `${pods.length} pods`);
    const keys = new Set(
      pods.map((w) => {
        const parsed = parseNode(podNode(w, push.domain), push);
        assert.ok(parsed.ok);
        return sharedKey(push, parsed.value);
      }),
    );
    assert.deepEqual([...p.scopes().keys()].sort(), [...keys].sort());
    assert.equal(status.builds, keys.size);

    // The node pilot-agent sends for productpage's pod (it always says SDS).
    const productpage = pods.find((w) => w.labels.app === 'productpage')!;
    const node = sidecarNode(
      {
        name: productpage.name,
        namespace: productpage.namespace,
        ip: productpage.ip,
        labels: productpage.labels,
      },
      { metadata: { SDS: 'true' } },
    ) as unknown as NodeInfo;
    const prewarmed = new Map(p.scopes());
    p.connect(node);
    const got = await cache.whenSet(node.id);
    const entry = p.proxies.get(node.id)!;
    assert.ok(entry.key && prewarmed.has(entry.key), 'the sidecar has a prewarmed scope key');
    assert.equal(
      entry.build?.scope,
      prewarmed.get(entry.key),
      'its build took the prewarmed scope as it was',
    );
    assert.equal(p.scopes().size, prewarmed.size, 'no scope was built on connect');

    // What it was sent is what a Pilot that had not prewarmed sends it.
    const cold = pusher();
    cold.p.connect(node);
    await cold.p.push(push, full);
    assert.deepEqual(bytes(got), bytes(cold.cache.getSnapshot(node.id)!));
  });

  it('looks only at injected pods, only on the first push, and builds at most 32 scopes, most pods first', async () => {
    const plain = runCluster(readObjects([BOOKINFO_YAML]));
    const none = pusher();
    await none.p.push(pushOf(plain, 1), full);
    assert.equal(none.p.scopes().size, 0, 'no pod carries the injector status annotation');

    // 34 namespaces of one pod each, and a second pod in ns-33: its scope is among the 32 built.
    const pods = Array.from({ length: 34 }, (_, i) => pod(`app-${i}`, `ns-${i}`, `10.60.0.${i + 1}`));
    pods.push(pod('app-34', 'ns-33', '10.60.1.1'));
    const push = pushOf(pods, 1);
    const { p } = pusher();
    await p.push(push, full);
    assert.equal(p.scopes().size, 32);
    const ns33 = parseNode(podNode(push.workloadsByIp.get('10.60.1.1')!, push.domain), push);
    assert.ok(ns33.ok);
    assert.ok(p.scopes().has(sharedKey(push, ns33.value)), 'the scope with two pods is built');

    // Later full pushes build only what connected proxies need (none here), however long none connects.
    for (const seq of [2, 3]) {
      await p.push(pushOf(pods, seq), full);
      assert.equal(p.scopes().size, 0, `push ${seq}`);
    }
  });
});
