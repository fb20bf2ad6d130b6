// Which builds a change invalidates is derived from the generators' declarations. Checked two ways:
// every generator is declared, and on a table of changes (each kind, each scope) a Pilot that pushed the
// old config and then the change ends with the same bytes as a Pilot that built the new config from
// nothing, and a proxy that reads nothing that changed keeps every version (nothing is sent to it).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { XDS_ORDER } from '@keel/proto';
import { newRegistry, silentLogger } from '@keel/runtime';
import { type NodeInfo, SnapshotCache } from '@keel/xds';
import { CONFIG_KINDS, GENERATORS } from '../src/generate/generators.js';
import { buildPushContext, REGISTRY_KINDS } from '../src/model/push-context.js';
import { withEndpoints } from '../src/model/push-context-eds.js';
import { InternTable } from '../src/model/push-memo.js';
import { nextPushContext } from '../src/push/context.js';
import { ProxyPusher } from '../src/push/pusher.js';
import type { PushRequest } from '../src/server/config-store.js';
import { pilotMetrics } from '../src/server/metrics.js';
import {
  BOOKINFO_YAML,
  bookinfoNetworking,
  type KubeObject,
  readObjects,
  runCluster,
  sidecarNode,
  snapshotOf,
  toConfigEntries,
} from './fixtures/index.js';

const GENERATE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'generate');

describe('generator declarations', () => {
  it('every generator module export that builds or patches resources is declared', async () => {
    const declared = new Set(GENERATORS.map((g) => g.fn));
    const found: string[] = [];
    for (const file of readdirSync(GENERATE_DIR).filter((f) => f.endsWith('.js'))) {
      const mod = (await import(join(GENERATE_DIR, file))) as Record<string, unknown>;
      for (const [name, fn] of Object.entries(mod)) {
        if (typeof fn !== 'function' || !/^(build|apply)[A-Z]/.test(name)) continue;
        found.push(name);
        assert.ok(declared.has(fn as never), `${file}: ${name} is not declared in generate/generators.ts`);
      }
    }
    assert.ok(found.length >= 10, `found ${found.join(', ')}`);
    for (const g of GENERATORS) {
      assert.ok(g.reads.length > 0, `${g.name} declares what it reads`);
      for (const k of g.reads) assert.ok((CONFIG_KINDS as readonly string[]).includes(k), `${g.name}: ${k}`);
    }
  });
});

const NET = 'networking.istio.io/v1alpha3';
const key = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
/** `base` with `changes` applied: same kind/namespace/name replaces, else added; `remove` keys dropped. */
function apply(
  base: readonly KubeObject[],
  changes: readonly KubeObject[],
  remove: string[] = [],
): KubeObject[] {
  const out = new Map(base.map((o) => [key(o), o]));
  for (const k of remove) out.delete(k);
  for (const o of changes) out.set(key(o), o);
  return [...out.values()];
}

const CLUSTER = runCluster(readObjects([BOOKINFO_YAML]));
const BASE = apply(
  CLUSTER,
  readObjects(['destination-rule-all.yaml', 'virtual-service-all-v1.yaml'].map(bookinfoNetworking)),
);
const pushOf = (objects: readonly KubeObject[], seq: number) => {
  const store = snapshotOf(toConfigEntries([...objects]));
  return {
    push: buildPushContext({ ...store, version: `v${seq}` }),
    store: { ...store, version: `v${seq}` },
  };
};
const NODES: NodeInfo[] = (snapshotOf(toConfigEntries(BASE)).byKind.get('Pod') ?? []).map(
  (p) => sidecarNode(p) as unknown as NodeInfo,
);

function pusher(): { p: ProxyPusher; cache: SnapshotCache } {
  const cache = new SnapshotCache();
  const p = new ProxyPusher({
    cache,
    logger: silentLogger,
    metrics: pilotMetrics(newRegistry('pilot', 'test'), 'test'),
    throttle: 100,
  });
  for (const n of NODES) p.connect(n);
  return { p, cache };
}

const full = (kinds: string[]): PushRequest => ({
  full: true,
  kinds: new Set(kinds),
  edsHosts: new Set(),
  start: Date.now(),
});

const bytesOf = (v: string | undefined) => v?.slice(v.indexOf(' ') + 1);

/** Per node and type: version, then the encoded resources. */
function state(cache: SnapshotCache): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of NODES) {
    const s = cache.getSnapshot(n.id);
    assert.ok(s, `${n.id} has a snapshot`);
    for (const t of XDS_ORDER) {
      const bytes = [...s.resources(t).values()].map(
        (r) => `${r.name}=${Buffer.from(r.encoded).toString('base64')}`,
      );
      out.set(`${n.id} ${t}`, `${s.version(t)} ${bytes.join(',')}`);
    }
  }
  return out;
}

const yaml = (o: KubeObject) => o;
interface Change {
  name: string;
  base?: KubeObject[];
  objects?: KubeObject[];
  remove?: string[];
  request: PushRequest;
  /** Every proxy keeps every version (nothing is sent). */
  nothingSent?: boolean;
}

const ONLY_REVIEWS_SIDECAR = yaml({
  apiVersion: NET,
  kind: 'Sidecar',
  metadata: { name: 'default', namespace: 'default' },
  spec: { egress: [{ hosts: ['./reviews.default.svc.cluster.local'] }] },
});

const reviewsEndpoints = (): KubeObject => {
  const ep = structuredClone(CLUSTER.find((o) => o.kind === 'Endpoints' && o.metadata.name === 'reviews')!);
  ep.subsets[0].addresses = ep.subsets[0].addresses.slice(1);
  return ep;
};

const CHANGES: Change[] = [
  {
    name: 'VirtualService',
    objects: readObjects([bookinfoNetworking('virtual-service-reviews-50-v3.yaml')]),
    request: full(['VirtualService']),
  },
  {
    name: 'DestinationRule',
    objects: readObjects([bookinfoNetworking('destination-rule-all-mtls.yaml')]),
    request: full(['DestinationRule']),
  },
  {
    name: 'Gateway and a VirtualService bound only to it: sidecars read neither',
    nothingSent: true,
    objects: readObjects([bookinfoNetworking('bookinfo-gateway.yaml')]),
    request: full(['Gateway', 'VirtualService']),
  },
  {
    name: 'ServiceEntry (+ VirtualService)',
    objects: readObjects([bookinfoNetworking('egress-rule-google-apis.yaml')]),
    request: full(['ServiceEntry', 'VirtualService']),
  },
  { name: 'Sidecar', objects: [ONLY_REVIEWS_SIDECAR], request: full(['Sidecar']) },
  {
    name: 'EnvoyFilter',
    objects: [
      yaml({
        apiVersion: NET,
        kind: 'EnvoyFilter',
        metadata: { name: 'timeout', namespace: 'default' },
        spec: {
          workloadSelector: { labels: { app: 'productpage' } },
          configPatches: [
            {
              applyTo: 'CLUSTER',
              match: { context: 'SIDECAR_OUTBOUND' },
              patch: { operation: 'MERGE', value: { connectTimeout: '7s' } },
            },
          ],
        },
      }),
    ],
    request: full(['EnvoyFilter']),
  },
  {
    name: 'MeshPolicy',
    objects: [
      yaml({
        apiVersion: 'authentication.istio.io/v1alpha1',
        kind: 'MeshPolicy',
        metadata: { name: 'default' },
        spec: { peers: [{ mtls: {} }] },
      }),
    ],
    request: full(['MeshPolicy']),
  },
  {
    name: 'Policy',
    objects: [
      yaml({
        apiVersion: 'authentication.istio.io/v1alpha1',
        kind: 'Policy',
        metadata: { name: 'reviews', namespace: 'default' },
        spec: { targets: [{ name: 'reviews' }], peers: [{ mtls: {} }] },
      }),
    ],
    request: full(['Policy']),
  },
  {
    name: 'RBAC (ClusterRbacConfig, ServiceRole, ServiceRoleBinding)',
    objects: [
      yaml({
        apiVersion: 'rbac.istio.io/v1alpha1',
        kind: 'ClusterRbacConfig',
        metadata: { name: 'default' },
        spec: { mode: 'ON' },
      }),
      yaml({
        apiVersion: 'rbac.istio.io/v1alpha1',
        kind: 'ServiceRole',
        metadata: { name: 'viewer', namespace: 'default' },
        spec: { rules: [{ services: ['*'], methods: ['GET'] }] },
      }),
      yaml({
        apiVersion: 'rbac.istio.io/v1alpha1',
        kind: 'ServiceRoleBinding',
        metadata: { name: 'viewers', namespace: 'default' },
        spec: { subjects: [{ user: '*' }], roleRef: { kind: 'ServiceRole', name: 'viewer' } },
      }),
    ],
    request: full(['ClusterRbacConfig', 'ServiceRole', 'ServiceRoleBinding']),
  },
  {
    name: 'AuthorizationPolicy',
    objects: [
      yaml({
        apiVersion: 'security.istio.io/v1beta1',
        kind: 'AuthorizationPolicy',
        metadata: { name: 'reviews', namespace: 'default' },
        spec: {
          selector: { matchLabels: { app: 'reviews' } },
          rules: [{ to: [{ operation: { methods: ['GET'] } }] }],
        },
      }),
    ],
    request: full(['AuthorizationPolicy']),
  },
  {
    name: 'Endpoints (EDS only)',
    objects: [reviewsEndpoints()],
    request: {
      full: false,
      kinds: new Set(),
      edsHosts: new Set(['reviews.default.svc.cluster.local']),
      start: 0,
    },
  },
  {
    name: 'nothing changed (same config republished)',
    request: full(['VirtualService', 'DestinationRule']),
    nothingSent: true,
  },
  {
    name: 'VirtualService of a host the proxies cannot see (Sidecar egress)',
    base: apply(BASE, [ONLY_REVIEWS_SIDECAR]),
    objects: readObjects([bookinfoNetworking('virtual-service-ratings-test-delay.yaml')]),
    request: full(['VirtualService']),
    nothingSent: true,
  },
  {
    name: 'RBAC change (clusters and routes keep theirs, inbound rebuilt)',
    objects: [
      yaml({
        apiVersion: 'rbac.istio.io/v1alpha1',
        kind: 'ClusterRbacConfig',
        metadata: { name: 'default' },
        spec: { mode: 'ON' },
      }),
    ],
    request: full(['ClusterRbacConfig']),
  },
];

describe('derived invalidation: incremental pushes equal builds from nothing', () => {
  for (const c of CHANGES) {
    it(c.name, async () => {
      const before = c.base ?? BASE;
      const after = apply(before, c.objects ?? [], c.remove);
      const a = pusher();
      // The incremental Pilot chooses its contexts as Pilot does (nextPushContext), with generator output
      // interned from push to push; the Pilot building from nothing has neither.
      const memo = new InternTable();
      const old = nextPushContext(undefined, pushOf(before, 1).store, full([]), { memo, prevFresh: true });
      await a.p.push(old.push, full([]));
      const first = state(a.cache);
      const next = pushOf(after, 2);
      const ctx = nextPushContext(old.push, next.store, c.request, { memo, prevFresh: true });
      if (!c.request.full) {
        assert.equal(ctx.reused, 'endpoints', 'endpoints-only change: no full push-context rebuild');
        assert.deepEqual([...ctx.push.endpointsByHost], [...next.push.endpointsByHost]);
      } else {
        const registry = [...c.request.kinds].some((k) => REGISTRY_KINDS.has(k));
        assert.equal(ctx.reused, registry ? 'none' : 'registry');
      }
      await a.p.push(ctx.push, c.request);
      const incremental = state(a.cache);
      const b = pusher();
      await b.p.push(pushOf(after, 2).push, full([]));
      const fresh = state(b.cache);
      // Versions are opaque to Envoy (they may differ between the two Pilots); the bytes may not.
      for (const [k, v] of fresh)
        assert.equal(bytesOf(incremental.get(k)), bytesOf(v), `${k} differs from a build from nothing`);
      const changed = [...first].filter(([k, v]) => incremental.get(k) !== v).map(([k]) => k);
      if (c.nothingSent) assert.deepEqual(changed, [], 'no version changed: nothing is sent');
      else assert.ok(changed.length > 0, 'the change reached some proxy');
    });
  }
});

describe('endpoints-only push context', () => {
  it('falls back to a full build when the change reaches service accounts', () => {
    const old = pushOf(BASE, 1).push;
    const details = structuredClone(
      CLUSTER.find((o) => o.kind === 'Endpoints' && o.metadata.name === 'details')!,
    );
    details.subsets = [];
    const next = pushOf(apply(BASE, [details]), 2);
    assert.equal(withEndpoints(old, next.store, new Set(['details.default.svc.cluster.local'])), undefined);
    const reviews = pushOf(apply(BASE, [reviewsEndpoints()]), 3);
    const eds = withEndpoints(old, reviews.store, new Set(['reviews.default.svc.cluster.local']));
    assert.ok(eds);
    assert.equal(eds.sidecarScope, old.sidecarScope, 'scopes and indexes are shared, not rebuilt');
    assert.deepEqual([...eds.endpointsByHost], [...reviews.push.endpointsByHost]);
  });
});

describe('push throttle (PILOT_PUSH_THROTTLE)', () => {
  it('at most `throttle` proxies have responses in flight; the next is set when one drains', async () => {
    const cache = new SnapshotCache();
    const waiting: Array<{ node: string; done: () => void }> = [];
    let called: (() => void) | undefined;
    const p = new ProxyPusher({
      cache,
      logger: silentLogger,
      metrics: pilotMetrics(newRegistry('pilot', 'test'), 'test'),
      throttle: 2,
      drained: (node) =>
        new Promise<void>((done) => {
          waiting.push({ node, done });
          called?.();
        }),
    });
    for (const n of NODES) p.connect(n);
    assert.ok(NODES.length >= 4, `${NODES.length} proxies`);
    const calls = (n: number) =>
      new Promise<void>((resolve) => {
        called = () => waiting.length >= n && resolve();
        called();
      });
    const set = () => NODES.filter((n) => cache.getSnapshot(n.id) !== undefined).map((n) => n.id);
    const turns = async (k: number) => {
      for (let i = 0; i < k; i++) await new Promise((r) => setImmediate(r));
    };
    const pushed = p.push(pushOf(BASE, 1).push, full([]));
    await calls(2);
    await turns(5);
    assert.equal(set().length, 2, 'two proxies in flight, the third waits');
    assert.deepEqual(set().sort(), waiting.map((w) => w.node).sort());
    waiting[0]!.done();
    await calls(3);
    await turns(5);
    assert.equal(set().length, 3, 'one drained: one more is set');
    // Drain everything as it comes: the push finishes with every proxy set.
    called = () => {
      for (const w of waiting) w.done();
    };
    called();
    const status = await pushed;
    assert.equal(status.proxies, NODES.length);
    assert.equal(set().length, NODES.length);
  });

  it('tells the server each push supersedes the last before it sets any snapshot', async () => {
    const cache = new SnapshotCache();
    const seen: number[] = [];
    const p = new ProxyPusher({
      cache,
      logger: silentLogger,
      metrics: pilotMetrics(newRegistry('pilot', 'test'), 'test'),
      throttle: 100,
      superseding: () => seen.push(NODES.filter((n) => cache.getSnapshot(n.id) !== undefined).length),
    });
    for (const n of NODES) p.connect(n);
    await p.push(pushOf(BASE, 1).push, full([]));
    await p.push(pushOf(apply(BASE, [reviewsEndpoints()]), 2).push, full([]));
    assert.deepEqual(seen, [0, NODES.length], 'once per push, before its first snapshot is set');
  });
});
