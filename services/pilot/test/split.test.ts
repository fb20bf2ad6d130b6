import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage, TypeUrl, XDS_ORDER } from '@keel/proto';
import { sharedTestdata } from '@keel/testing';
import {
  assembleSidecarResources,
  generateInboundResources,
  generateProxyResources,
  generateScopeResources,
  splitsByScope,
} from '../src/generate/index.js';
import { buildPushContext } from '../src/model/push-context.js';
import { InternTable } from '../src/model/push-memo.js';
import type { Proxy as MeshProxy, PushContext } from '../src/model/types.js';
import {
  configKey,
  proxyBuild,
  proxyRebase,
  routeConfigurationResource,
  sameOutboundShape,
  scopeBuild,
  sharedKey,
  VirtualHostEncodings,
} from '../src/push/builds.js';
import {
  bookinfoNetworking,
  makeBookinfoMesh,
  proxyFor,
  sidecarNode,
  snapshotOf,
  toConfigEntry,
} from './fixtures/index.js';
import { nsScope } from './listener-util.js';

const SAMPLES = readdirSync(sharedTestdata('samples', 'bookinfo', 'networking'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

const SOURCE_LABELS_VS = {
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'VirtualService',
  metadata: { name: 'ratings-from-reviews-v2', namespace: 'default' },
  spec: {
    hosts: ['ratings'],
    http: [
      {
        match: [{ sourceLabels: { app: 'reviews', version: 'v2' } }],
        fault: { abort: { percent: 100, httpStatus: 500 } },
        route: [{ destination: { host: 'ratings' } }],
      },
      { route: [{ destination: { host: 'ratings' } }] },
    ],
  },
};

function bookinfo(
  files: string[],
  extra: object[] = [],
  memo?: InternTable,
): { push: PushContext; proxies: MeshProxy[] } {
  const base = makeBookinfoMesh(files.map(bookinfoNetworking));
  const added = extra.map((o, i) => toConfigEntry(o as any, 1000 + i));
  const id = (e: { kind: string; namespace: string; name: string }) => `${e.kind}/${e.namespace}/${e.name}`;
  const replaced = new Set(added.map(id));
  // An extra object replaces the base object of the same kind, namespace and name.
  const entries = [...[...base.byKind.values()].flat().filter((e) => !replaced.has(id(e))), ...added];
  const store = snapshotOf(entries, base.mesh);
  const push = buildPushContext(store, memo ? { memo } : {});
  const pods = store.byKind.get('Pod') ?? [];
  return { push, proxies: pods.map((p) => proxyFor(push, sidecarNode(p))) };
}

const split = (push: PushContext, proxy: MeshProxy) =>
  assembleSidecarResources(generateScopeResources(push, proxy), generateInboundResources(push, proxy))
    .resources;

describe('scope split', () => {
  it('bookinfo: shared scope part + own inbound part equals generateProxyResources for every pod and sample', () => {
    let checked = 0;
    for (const file of SAMPLES) {
      for (const combo of [[file], ['destination-rule-all-mtls.yaml', file]]) {
        const { push, proxies } = bookinfo(combo);
        for (const proxy of proxies) {
          if (!splitsByScope(push, proxy)) continue;
          assert.ok(proxy.serviceInstances.length > 0, proxy.id);
          assert.deepEqual(split(push, proxy), generateProxyResources(push, proxy), `${combo} ${proxy.id}`);
          checked++;
        }
      }
    }
    assert.ok(checked >= SAMPLES.length * 2 * 6, `checked ${checked}`);
  });

  it('sidecar-ns-scope (Sidecar ingress): not split, keyed by the per-proxy config key', () => {
    const { push, proxy } = nsScope();
    assert.equal(splitsByScope(push, proxy), false);
    assert.ok(!configKey(push, proxy).startsWith('["split"'));
  });

  it('pods of one namespace share a scope key unless a sourceLabels match tells them apart', () => {
    const plain = bookinfo([]);
    const keys = new Set(plain.proxies.map((p) => sharedKey(plain.push, p)));
    assert.equal(keys.size, 1);
    assert.equal(configKey(plain.push, plain.proxies[0]!), sharedKey(plain.push, plain.proxies[0]!));
    const bySource = bookinfo([], [SOURCE_LABELS_VS]);
    const find = (name: string) => bySource.proxies.find((p) => p.id.includes(name))!;
    const k = (name: string) => sharedKey(bySource.push, find(name));
    assert.notEqual(k('reviews-v2'), k('reviews-v1'));
    assert.equal(k('reviews-v1'), k('productpage'));
    for (const name of ['reviews-v2', 'reviews-v1'])
      assert.deepEqual(split(bySource.push, find(name)), generateProxyResources(bySource.push, find(name)));
    const routes = (name: string) => JSON.stringify(generateProxyResources(bySource.push, find(name)).routes);
    assert.notEqual(routes('reviews-v2'), routes('reviews-v1'));
  });

  it('scopes with equal clusters and endpoints share one object and one encoding of each (interned)', () => {
    const memo = new InternTable();
    const { push, proxies } = bookinfo([], [SOURCE_LABELS_VS], memo);
    const find = (name: string) => proxies.find((p) => p.id.includes(name))!;
    const [v1, v2] = [find('reviews-v1'), find('reviews-v2')];
    const a = scopeBuild(push, v1, sharedKey(push, v1));
    const b = scopeBuild(push, v2, sharedKey(push, v2));
    assert.notEqual(a.key, b.key, 'two scopes');
    assert.ok(a.resources.clusters.length > 3);
    assert.deepEqual(a.resources.clusters, b.resources.clusters);
    for (const [i, c] of a.resources.clusters.entries())
      assert.equal(c, b.resources.clusters[i], `cluster ${String(c.name)}`);
    for (const [i, e] of a.resources.endpoints.entries()) assert.equal(e, b.resources.endpoints[i]);
    for (const c of a.resources.clusters) assert.equal(a.xdsOf.get(c), b.xdsOf.get(c), 'encoded once');
    // Route tables are held in the memo by what they read of a proxy's labels: these two differ.
    assert.notDeepEqual(a.resources.routes, b.resources.routes, 'route tables by sourceLabels match');
    // Without the memo each scope holds its own (equal) objects.
    const plain = bookinfo([], [SOURCE_LABELS_VS]);
    const p1 = plain.proxies.find((p) => p.id.includes('reviews-v1'))!;
    const p2 = plain.proxies.find((p) => p.id.includes('reviews-v2'))!;
    const c = scopeBuild(plain.push, p1, sharedKey(plain.push, p1));
    const d = scopeBuild(plain.push, p2, sharedKey(plain.push, p2));
    assert.notEqual(c.resources.clusters[0], d.resources.clusters[0]);
    assert.deepEqual(c.resources.clusters, a.resources.clusters, 'interning changes no content');
  });

  it('proxies of one scope reuse the encoded shared resources; their own inbound resources differ', () => {
    const { push, proxies } = bookinfo([]);
    const [a, b] = proxies;
    const scope = scopeBuild(push, a!, sharedKey(push, a!));
    const ba = proxyBuild(scope, push, a!);
    const bb = proxyBuild(scope, push, b!);
    const route = [...scope.routes][0]!;
    assert.equal(
      ba.snapshot.resources(route.typeUrl).get(route.name),
      bb.snapshot.resources(route.typeUrl).get(route.name),
    );
    const shared = ba.clusters.filter((c) => bb.clusters.includes(c));
    assert.ok(shared.length > 0 && shared.length < ba.clusters.length);
    const full = generateProxyResources(push, a!);
    assert.deepEqual(
      ba.clusters.map((c) => c.body),
      full.clusters,
    );
    assert.deepEqual(
      ba.listeners.map((l) => l.body),
      full.listeners,
    );
  });

  it('an HTTP-route-only change: the scope keeps its CDS/LDS/EDS, a kept own part equals a fresh build', () => {
    const before = bookinfo(['destination-rule-all.yaml']);
    const after = bookinfo(['destination-rule-all.yaml', 'virtual-service-reviews-v3.yaml']);
    const [p0, p1] = [before.proxies[0]!, after.proxies[0]!];
    const prevScope = scopeBuild(before.push, p0, sharedKey(before.push, p0));
    const scope = scopeBuild(after.push, p1, sharedKey(after.push, p1), { prev: prevScope });
    assert.ok(sameOutboundShape(scope, prevScope));
    assert.notEqual(
      scope.snapshot.version(TypeUrl.RouteConfiguration),
      prevScope.snapshot.version(TypeUrl.RouteConfiguration),
    );
    for (const t of [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.ClusterLoadAssignment])
      assert.equal(scope.snapshot.resources(t), prevScope.snapshot.resources(t), t);
    const kept = proxyRebase(proxyBuild(prevScope, before.push, p0), scope);
    const fresh = proxyBuild(scopeBuild(after.push, p1, sharedKey(after.push, p1)), after.push, p1);
    for (const t of XDS_ORDER) {
      assert.equal(kept.snapshot.version(t), fresh.snapshot.version(t), t);
      const bytes = (s: typeof fresh) =>
        [...s.snapshot.resources(t).values()].map((r) => Buffer.from(r.encoded).toString('hex'));
      assert.deepEqual(bytes(kept), bytes(fresh), t);
    }
    const changed = bookinfo(['destination-rule-reviews.yaml']);
    const p2 = changed.proxies[0]!;
    assert.ok(
      !sameOutboundShape(
        scopeBuild(changed.push, p2, sharedKey(changed.push, p2), { prev: prevScope }),
        prevScope,
      ),
    );
  });
  it('a route-only push keeps the clusters and endpoints: same objects, same bytes as a full rebuild', () => {
    const before = bookinfo(['destination-rule-all.yaml']);
    const after = bookinfo(['destination-rule-all.yaml', 'virtual-service-reviews-50-v3.yaml']);
    const [p0, p1] = [before.proxies[0]!, after.proxies[0]!];
    const vhosts = new VirtualHostEncodings();
    const prev = scopeBuild(before.push, p0, sharedKey(before.push, p0), { vhosts });
    const kept = scopeBuild(after.push, p1, sharedKey(after.push, p1), { prev, keepOutbound: true, vhosts });
    const fresh = scopeBuild(after.push, p1, sharedKey(after.push, p1));
    assert.equal(kept.resources.clusters, prev.resources.clusters, 'clusters not regenerated');
    assert.equal(kept.endpoints, prev.endpoints, 'endpoints not re-encoded');
    for (const t of XDS_ORDER) {
      assert.equal(
        kept.snapshot.version(t) === prev.snapshot.version(t),
        t !== TypeUrl.RouteConfiguration,
        t,
      );
      const decoded = (b: typeof fresh) =>
        [...b.snapshot.resources(t).values()].map((r) => decodeMessage(r.typeUrl.split('/')[1]!, r.encoded));
      assert.deepEqual(decoded(kept), decoded(fresh), t);
    }
    assert.deepEqual(kept.resources, fresh.resources);
  });

  it('route configurations encode from cached virtual hosts: same message, only changed hosts encoded again', () => {
    const routesOf = (files: string[]) => {
      const { push, proxies } = bookinfo(files);
      return generateScopeResources(push, proxies[0]!).routes;
    };
    const vhosts = new VirtualHostEncodings();
    const type = 'envoy.config.route.v3.RouteConfiguration';
    const before = routesOf(['destination-rule-all.yaml', 'virtual-service-reviews-v3.yaml']);
    assert.ok(before.length > 0);
    for (const rc of before) {
      const spliced = routeConfigurationResource(String(rc.name), rc, vhosts).encoded;
      assert.deepEqual(decodeMessage(type, spliced), decodeMessage(type, encodeMessage(type, rc)));
    }
    const hosts = vhosts.size;
    assert.ok(hosts >= 4, `${hosts} hosts cached`);
    assert.equal(vhosts.encodes, hosts);
    vhosts.rotate();
    const after = routesOf(['destination-rule-all.yaml', 'virtual-service-reviews-50-v3.yaml']);
    for (const rc of after) {
      const spliced = routeConfigurationResource(String(rc.name), rc, vhosts).encoded;
      assert.deepEqual(decodeMessage(type, spliced), decodeMessage(type, encodeMessage(type, rc)));
    }
    assert.equal(vhosts.encodes, hosts + 1, 'only the reviews host was encoded again');
    vhosts.rotate();
    vhosts.rotate();
    // The same objects are still found by identity (interned hosts are never stringified)...
    for (const rc of after) routeConfigurationResource(String(rc.name), rc, vhosts);
    assert.equal(vhosts.encodes, hosts + 1, 'objects seen before are found by identity');
    // ...while content entries unused for a whole push are dropped.
    for (const rc of structuredClone(after)) routeConfigurationResource(String(rc.name), rc, vhosts);
    assert.equal(vhosts.encodes, 2 * hosts + 1, 'entries unused for a whole push are dropped');
  });

  it('a route configuration made like the last one (its unchanged hosts taken by position) equals one made from scratch', () => {
    const { push, proxies } = bookinfo(['destination-rule-all.yaml', 'virtual-service-reviews-v3.yaml']);
    const rc = generateScopeResources(push, proxies[0]!).routes.find((r) => r.name === '9080')!;
    const hosts = rc.virtual_hosts as Array<Record<string, unknown>>;
    assert.ok(hosts.length >= 4, `${hosts.length} hosts`);
    const vhosts = new VirtualHostEncodings();
    const last = routeConfigurationResource('9080', rc, vhosts);
    const changed = { ...hosts[1]!, retry_policy: { num_retries: { value: 7 } } };
    const variants: Array<[string, Array<Record<string, unknown>>]> = [
      ['one host replaced', hosts.map((h, i) => (i === 1 ? changed : h))],
      ['a host inserted (the rest shift)', [hosts[0]!, changed, ...hosts.slice(1)]],
      ['a host removed', hosts.slice(1)],
      ['unchanged', hosts],
    ];
    for (const [what, list] of variants) {
      const body = { ...rc, virtual_hosts: list };
      const like = routeConfigurationResource('9080', body, vhosts, last);
      const scratch = routeConfigurationResource('9080', body, new VirtualHostEncodings());
      assert.equal(like.version, scratch.version, what);
      assert.deepEqual(Buffer.from(like.encoded), Buffer.from(scratch.encoded), what);
      assert.equal(like.version === last.version, what === 'unchanged', what);
    }
  });

  it('virtual hosts are interned across pushes: same object and content while their inputs are unchanged, new when one changes', () => {
    const memo = new InternTable();
    const hostsOf = (push: PushContext, proxy: MeshProxy) =>
      new Map(
        generateScopeResources(push, proxy).routes.flatMap((rc) =>
          ((rc.virtual_hosts ?? []) as Array<Record<string, unknown>>).map((vh) => [String(vh.name), vh]),
        ),
      );
    const files = ['destination-rule-all.yaml', 'virtual-service-reviews-v3.yaml'];
    const one = bookinfo(files, [], memo);
    const first = hostsOf(one.push, one.proxies[0]!);
    memo.rotate();
    const two = bookinfo(files, [], memo);
    const second = hostsOf(two.push, two.proxies[0]!);
    const plain = bookinfo(files);
    assert.deepEqual(second, hostsOf(plain.push, plain.proxies[0]!), 'interning changes no content');
    const routed = [...second.keys()].filter((n) => n.startsWith('reviews.'));
    assert.ok(routed.length > 0);
    let same = 0;
    for (const [name, vh] of second) {
      if (!name.includes('.svc.')) continue;
      assert.equal(vh, first.get(name), `${name}: the same object in the next push`);
      same += 1;
    }
    assert.ok(same >= 4, `${same} interned hosts`);
    // The VirtualService changes: only its hosts are new objects.
    memo.rotate();
    const changed = ['destination-rule-all.yaml', 'virtual-service-reviews-50-v3.yaml'];
    const vsPush = bookinfo(changed, [], memo);
    const afterVs = hostsOf(vsPush.push, vsPush.proxies[0]!);
    const fresh = bookinfo(changed);
    assert.deepEqual(afterVs, hostsOf(fresh.push, fresh.proxies[0]!));
    for (const [name, vh] of afterVs) {
      if (!name.includes('.svc.')) continue;
      if (routed.includes(name))
        assert.notEqual(vh, second.get(name), `${name} is routed by the changed VirtualService`);
      else assert.equal(vh, second.get(name), `${name} is not`);
    }
    // An input of the key (the service's address) changes: a new host.
    const moved = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'details', namespace: 'default' },
      spec: { clusterIP: '10.0.99.99', ports: [{ name: 'http', port: 9080 }], selector: { app: 'details' } },
    };
    memo.rotate();
    const three = bookinfo(files, [moved], memo);
    const third = hostsOf(three.push, three.proxies[0]!);
    const details = [...third.keys()].find((n) => n.startsWith('details.'))!;
    assert.notEqual(third.get(details), second.get(details));
    assert.ok(((third.get(details)!.domains ?? []) as string[]).includes('10.0.99.99'));
  });
});
