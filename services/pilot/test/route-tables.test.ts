// Route tables built by difference: a push after which only some VirtualServices changed redoes only the
// virtual hosts those name (routes.ts `patchedTable`), and the Envoy-rules check redoes only the replaced
// hosts (envoy-rules.ts `recheck`). Each step of a table of changes must give exactly what a Pilot building
// the new config from nothing gives (RouteConfiguration bytes and every rejection reported), and the
// cheap path must be the one taken. Config goes the production way: Galley's validation and MCP encoding,
// then Pilot's ConfigStore, which keeps an unchanged resource's entry object.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { kindFor } from '@keel/config';
import type { McpResource } from '@keel/mcp';
import { encodeMessage, TypeName } from '@keel/proto';
import { derivedHosts, type EnvoyRuleRejection } from '../src/generate/envoy-rules.js';
import {
  type GenerateStats,
  generateScopeResources,
  newEnvoyFilterStats,
  newListenerStats,
} from '../src/generate/index.js';
import { buildSidecarRoutes } from '../src/generate/routes.js';
import { parseNode } from '../src/model/proxy.js';
import { buildPushContext } from '../src/model/push-context.js';
import { InternTable } from '../src/model/push-memo.js';
import type { PushContext } from '../src/model/types.js';
import { nextPushContext } from '../src/push/context.js';
import { ConfigStore, type PushRequest } from '../src/server/config-store.js';
import {
  BOOKINFO_YAML,
  bookinfoNetworking,
  type KubeObject,
  readObjects,
  runCluster,
  sidecarNode,
} from './fixtures/index.js';
import { mcpSnapshot } from './server-harness.js';

const NET = 'networking.istio.io/v1alpha3';
const CLUSTER = runCluster(readObjects([BOOKINFO_YAML]));
const ALL_V1 = readObjects([bookinfoNetworking('virtual-service-all-v1.yaml')]);
const DR_ALL = readObjects([bookinfoNetworking('destination-rule-all.yaml')]);
const REVIEWS_50_V3 = readObjects([bookinfoNetworking('virtual-service-reviews-50-v3.yaml')]);

/**
 * A ServiceEntry whose address is reviews' ClusterIP (10.0.0.4): its host sorts before reviews', so reviews'
 * host finds its IP domains taken (reported, and replayed when only reviews' routes change).
 */
const MIRROR: KubeObject = {
  apiVersion: NET,
  kind: 'ServiceEntry',
  metadata: { name: 'mirror', namespace: 'default' },
  spec: {
    hosts: ['mirror.example.com'],
    addresses: ['10.0.0.4'],
    ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }],
    location: 'MESH_INTERNAL',
    resolution: 'STATIC',
    endpoints: [{ address: '10.9.9.9' }],
  },
};

const vs = (name: string, hosts: string[], dest: string, timeout?: string): KubeObject => ({
  apiVersion: NET,
  kind: 'VirtualService',
  metadata: { name, namespace: 'default' },
  spec: { hosts, http: [{ ...(timeout ? { timeout } : {}), route: [{ destination: { host: dest } }] }] },
});

/** Pilot's ConfigStore fed as the MCP sink feeds it: per collection, only when something in it changed. */
class Feed {
  readonly store = new ConfigStore();
  private held = new Map<string, Map<string, McpResource>>();
  private n = 0;

  publish(objects: readonly KubeObject[]): PushRequest {
    this.n += 1;
    const kinds = new Set<string>();
    for (const [collection, resources] of mcpSnapshot(
      objects.filter((o) => kindFor(String(o.apiVersion), String(o.kind))),
      `v${this.n}`,
    ).collections) {
      const prev = this.held.get(collection) ?? new Map<string, McpResource>();
      const changed = resources.filter(
        (r) => prev.get(r.metadata.name)?.metadata.version !== r.metadata.version,
      );
      const removed = [...prev.keys()].filter((name) => !resources.some((r) => r.metadata.name === name));
      if (this.n > 1 && changed.length === 0 && removed.length === 0) continue;
      this.held.set(collection, new Map(resources.map((r) => [r.metadata.name, r])));
      const applied = this.store.apply({
        collection,
        resources: [...resources],
        changed,
        removed,
        incremental: false,
        version: `v${this.n}`,
      });
      assert.ok(applied.ok, applied.ok ? '' : applied.errors);
      for (const k of applied.value.request.kinds) kinds.add(k);
    }
    return { full: true, kinds, edsHosts: new Set(), start: Date.now() };
  }
}

/** Push contexts as Pilot makes them: config fed over MCP, one push memo turning over between pushes. */
class Pushes {
  readonly feed = new Feed();
  readonly memo = new InternTable();
  private last?: PushContext;

  /** The push context after `objects` are published, built from the last one as Pilot's next push is. */
  push(objects: readonly KubeObject[]): PushContext {
    const req = this.feed.publish(objects);
    if (this.last) this.memo.rotate();
    const opts = { memo: this.memo, prevFresh: true };
    this.last = nextPushContext(this.last, this.feed.store.snapshot(), req, opts).push;
    return this.last;
  }
}

const proxyOf = (app: string) => (push: PushContext) => {
  const pod = push.configs('Pod').find((p) => p.name.startsWith(app))!;
  const parsed = parseNode(sidecarNode(pod), push);
  assert.ok(parsed.ok);
  return parsed.value;
};
const productpage = proxyOf('productpage');

function scopeRoutes(push: PushContext): {
  routes: Record<string, unknown>[];
  rejected: EnvoyRuleRejection[];
} {
  const stats: GenerateStats = {
    listeners: newListenerStats(),
    envoyFilters: newEnvoyFilterStats(),
    rejected: [],
  };
  const { routes } = generateScopeResources(push, productpage(push), stats);
  return { routes, rejected: stats.rejected ?? [] };
}

/** The hosts of table `"9080"` as generated, before the Envoy-rules check (the same object while unchanged). */
const table9080 = (push: PushContext, proxy = productpage) =>
  buildSidecarRoutes(push, proxy(push), ['9080'])[0]!.virtual_hosts as readonly Record<string, unknown>[];

const bytes = (rc: Record<string, unknown>) =>
  Buffer.from(encodeMessage(TypeName.RouteConfiguration, rc)).toString('base64');

interface Step {
  name: string;
  objects: KubeObject[];
  /** What the incremental side must have done with table `"9080"`. */
  table: 'kept' | 'patched' | 'rebuilt';
}

const BASE = [
  ...CLUSTER,
  ...DR_ALL,
  ...ALL_V1,
  MIRROR,
  vs('mirror', ['mirror.example.com'], 'reviews.default.svc.cluster.local'),
];
const without = (objects: KubeObject[], kind: string, name: string) =>
  objects.filter((o) => !(o.kind === kind && o.metadata.name === name));
const STEPS: Step[] = [
  { name: 'the same config again', objects: BASE, table: 'kept' },
  {
    name: 'one VirtualService changes its routes',
    objects: [...without(BASE, 'VirtualService', 'reviews'), ...REVIEWS_50_V3],
    table: 'patched',
  },
  {
    name: "the VirtualService of the host that takes reviews' IP domains changes",
    objects: [
      ...without(BASE, 'VirtualService', 'mirror'),
      vs('mirror', ['mirror.example.com'], 'ratings.default.svc.cluster.local', '3s'),
    ],
    table: 'patched',
  },
  {
    name: 'a later VirtualService names a host an earlier one routes (the earlier keeps it)',
    objects: [...BASE, vs('reviews-late', ['reviews'], 'ratings.default.svc.cluster.local', '9s')],
    table: 'patched',
  },
  {
    name: 'the earlier one goes: the later one wins the host',
    objects: [
      ...without(BASE, 'VirtualService', 'reviews'),
      vs('reviews-late', ['reviews'], 'ratings.default.svc.cluster.local', '9s'),
    ],
    table: 'patched',
  },
  {
    name: 'a VirtualService goes: its host gets the default route',
    objects: without(BASE, 'VirtualService', 'ratings'),
    table: 'patched',
  },
  {
    name: 'a wildcard VirtualService for every host of the namespace',
    objects: [
      ...without(BASE, 'VirtualService', 'details'),
      vs('everything', ['*.default.svc.cluster.local'], 'details.default.svc.cluster.local', '4s'),
    ],
    table: 'patched',
  },
  {
    name: 'a DestinationRule changes: built from nothing',
    objects: [
      ...BASE.filter((o) => o.kind !== 'DestinationRule'),
      ...readObjects([bookinfoNetworking('destination-rule-all-mtls.yaml')]),
    ],
    table: 'rebuilt',
  },
  {
    name: 'a service goes (the registry changes): built from nothing',
    objects: BASE.filter((o) => !(o.kind === 'ServiceEntry')),
    table: 'rebuilt',
  },
];

describe('route tables by difference', () => {
  for (const step of STEPS) {
    it(step.name, () => {
      const pushes = new Pushes();
      const first = pushes.push(BASE);
      const before = scopeRoutes(first);
      const oldHosts = table9080(first);
      const next = pushes.push(step.objects);
      const after = scopeRoutes(next);
      // A Pilot building the new config from nothing (new store, no memo, nothing kept).
      const fresh = new Feed();
      fresh.publish(step.objects);
      const scratch = scopeRoutes(buildPushContext(fresh.store.snapshot()));
      assert.deepEqual(after.routes.map(bytes), scratch.routes.map(bytes), 'RouteConfiguration bytes');
      assert.deepEqual(after.rejected, scratch.rejected, 'rejections reported');
      assert.ok(before.routes.length > 0);
      const hosts = table9080(next);
      const taken =
        hosts === oldHosts ? 'kept' : derivedHosts.get(hosts) === oldHosts ? 'patched' : 'rebuilt';
      assert.equal(taken, step.table);
    });
  }

  it("another proxy of the scope patches the table the last push's proxy built", () => {
    // Which proxy builds a scope changes (a prewarmed scope's pod, then the first connected proxy; a proxy
    // leaves): tables are found by what routes read of its labels (sourceLabels), not by its labels.
    const pushes = new Pushes();
    const oldHosts = table9080(pushes.push(BASE), productpage);
    const next = pushes.push([...without(BASE, 'VirtualService', 'reviews'), ...REVIEWS_50_V3]);
    const hosts = table9080(next, proxyOf('ratings'));
    assert.equal(derivedHosts.get(hosts), oldHosts, 'patched from the table productpage built');
    assert.deepEqual(hosts, table9080(next, productpage));
  });

  it('a table patched push after push does not keep the earlier tables alive', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const pushes = new Pushes();
    const base = pushes.push(BASE);
    scopeRoutes(base);
    const first = new WeakRef(table9080(base));
    for (let i = 1; i <= 4; i++) {
      const objects = [
        ...without(BASE, 'VirtualService', 'reviews'),
        vs('reviews', ['reviews'], 'ratings.default.svc.cluster.local', `${i}s`),
      ];
      scopeRoutes(pushes.push(objects));
    }
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.equal(first.deref(), undefined, 'the first table was collected');
  });

  it('the base mesh reports the taken domains (the case the patched check must replay)', () => {
    const feed = new Feed();
    feed.publish(BASE);
    const { rejected } = scopeRoutes(buildPushContext(feed.store.snapshot()));
    assert.deepEqual(
      rejected.map((r) => r.reason),
      ['duplicate domain "10.0.0.4"', 'duplicate domain "10.0.0.4:9080"'],
    );
  });
});

/** Two TCP ServiceEntries on their own addresses, and a VirtualService with a TCP route to one of them. */
const tcpEntry = (name: string, address: string): KubeObject => ({
  apiVersion: NET,
  kind: 'ServiceEntry',
  metadata: { name, namespace: 'default' },
  spec: {
    hosts: [`${name}.example.com`],
    addresses: [address],
    ports: [{ number: 27017, name: 'tcp', protocol: 'TCP' }],
    location: 'MESH_EXTERNAL',
    resolution: 'DNS',
  },
});
const tcpVs = (dest: string): KubeObject => ({
  apiVersion: NET,
  kind: 'VirtualService',
  metadata: { name: 'db', namespace: 'default' },
  spec: { hosts: ['db-a.example.com'], tcp: [{ route: [{ destination: { host: dest } }] }] },
});
const L4_BASE = [
  ...BASE,
  tcpEntry('db-a', '240.0.0.1'),
  tcpEntry('db-b', '240.0.0.2'),
  tcpVs('db-a.example.com'),
];

describe('outbound listeners on a routes-only push', () => {
  const listenerBytes = (ls: readonly Record<string, unknown>[]) =>
    ls.map((l) => Buffer.from(encodeMessage(TypeName.Listener, l)).toString('base64'));
  const cases: Array<{ name: string; objects: KubeObject[]; kept: boolean }> = [
    {
      name: 'an HTTP route changes: the listeners are the last build’s objects',
      objects: [...without(L4_BASE, 'VirtualService', 'reviews'), ...REVIEWS_50_V3],
      kept: true,
    },
    {
      name: 'a TCP route changes: the listeners are made again',
      objects: [...without(L4_BASE, 'VirtualService', 'db'), tcpVs('db-b.example.com')],
      kept: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const pushes = new Pushes();
      const first = pushes.push(L4_BASE);
      const newStats = (): GenerateStats => ({
        listeners: newListenerStats(),
        envoyFilters: newEnvoyFilterStats(),
        rejected: [],
      });
      const before = generateScopeResources(first, productpage(first), newStats());
      assert.ok(
        before.listeners.some((l) => l.name === '240.0.0.1_27017'),
        'the TCP ServiceEntry has its listener',
      );
      const next = pushes.push(c.objects);
      const stats = newStats();
      const after = generateScopeResources(next, productpage(next), stats, before);
      const fresh = new Feed();
      fresh.publish(c.objects);
      const scratchStats = newStats();
      const scratch = generateScopeResources(
        buildPushContext(fresh.store.snapshot()),
        productpage(next),
        scratchStats,
      );
      assert.deepEqual(listenerBytes(after.listeners), listenerBytes(scratch.listeners), 'listener bytes');
      assert.deepEqual(after.routes.map(bytes), scratch.routes.map(bytes), 'RouteConfiguration bytes');
      assert.deepEqual(stats.rejected, scratchStats.rejected, 'rejections reported');
      assert.equal(after.listeners === before.listeners, c.kept, 'kept as the same objects, or made again');
      if (!c.kept)
        assert.notDeepEqual(
          listenerBytes(after.listeners),
          listenerBytes(before.listeners),
          'the TCP chain moved',
        );
    });
  }
});
