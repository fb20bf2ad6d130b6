// Per-client encoding (model/client.ts): what each xDS client is told, and what is degraded for it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkResources,
  type GenerateStats,
  generateProxyResources,
  newEnvoyFilterStats,
  newListenerStats,
} from '../src/generate/index.js';
import { clientProfile, type Degradation, DegradationReporter } from '../src/model/client.js';
import { buildPushContext } from '../src/model/push-context.js';
import type { Proxy as MeshProxy } from '../src/model/types.js';
import {
  BOOKINFO_YAML,
  grpcNode,
  type KubeObject,
  podEntry,
  proxyFor,
  readObjects,
  runCluster,
  sidecarNode,
  snapshotOf,
  toConfigEntries,
} from './fixtures/index.js';

const UA = {
  'grpc-js': { user_agent_name: 'gRPC Node Pure JS', user_agent_version: '1.14.1' },
  'grpc-core': { user_agent_name: 'gRPC C-core linux Python', user_agent_version: '1.51.1' },
  grpc: { user_agent_name: 'gRPC Go', user_agent_version: '1.60.0' },
} as const;

const NET = 'networking.istio.io/v1alpha3';

function reviewsRule(trafficPolicy: Record<string, unknown>): KubeObject {
  return {
    apiVersion: NET,
    kind: 'DestinationRule',
    metadata: { name: 'reviews', namespace: 'default' },
    spec: { host: 'reviews', trafficPolicy, subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
  };
}

const reviewsHeaderRoute: KubeObject = {
  apiVersion: NET,
  kind: 'VirtualService',
  metadata: { name: 'reviews', namespace: 'default' },
  spec: {
    hosts: ['reviews'],
    http: [
      {
        match: [
          { headers: { 'end-user': { exact: 'jason' }, 'x-p': { prefix: 'a' }, 'x-r': { regex: 'b+' } } },
        ],
        route: [{ destination: { host: 'reviews', subset: 'v1' } }],
      },
      { match: [{ queryParams: { q: { exact: '1' } } }], route: [{ destination: { host: 'reviews' } }] },
      { route: [{ destination: { host: 'reviews' } }] },
    ],
  },
};

function mesh(extra: KubeObject[]) {
  const store = snapshotOf(toConfigEntries([...runCluster(readObjects([BOOKINFO_YAML])), ...extra]));
  return { store, push: buildPushContext(store) };
}

function generate(extra: KubeObject[], kind: keyof typeof UA | 'envoy') {
  const { store, push } = mesh(extra);
  const pod = podEntry(store, 'productpage-v1-0');
  const node = kind === 'envoy' ? sidecarNode(pod) : { ...grpcNode(pod), ...UA[kind] };
  const proxy: MeshProxy = proxyFor(push, node);
  const stats: GenerateStats = {
    listeners: newListenerStats(),
    envoyFilters: newEnvoyFilterStats(),
    degraded: [],
  };
  const res = generateProxyResources(push, proxy, stats);
  assert.deepEqual(checkResources(res, proxy.generator), [], `${kind}: resources check`);
  const cluster = (name: string) => res.clusters.find((c) => c.name === name) as Record<string, any>;
  return { proxy, res, degraded: stats.degraded!, cluster };
}

const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';
const REVIEWS_V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';

describe('client profiles', () => {
  it('reads the kind from GENERATOR and user_agent_name, keeps version and features', () => {
    assert.equal(clientProfile({ generator: 'envoy', userAgentName: 'envoy' }).kind, 'envoy');
    const js = clientProfile({
      generator: 'grpc',
      userAgentName: 'gRPC Node Pure JS',
      userAgentVersion: '1.14.1',
    });
    assert.deepEqual(
      [js.kind, js.version, js.headerMatch, js.loadBalancingPolicy],
      ['grpc-js', '1.14.1', 'string_match', true],
    );
    const core = clientProfile({
      generator: 'grpc',
      userAgentName: 'gRPC C-core linux Python',
      clientFeatures: ['f'],
    });
    assert.deepEqual(
      [core.kind, core.headerMatch, core.ringHash, core.features],
      ['grpc-core', 'legacy', false, ['f']],
    );
    assert.equal(clientProfile({ generator: 'grpc' }).kind, 'grpc');
    assert.equal(
      clientProfile({ generator: 'grpc', userAgentName: 'x'.repeat(10_000) }).userAgent.length,
      256,
    );
  });

  it('parseNode carries the profile; different clients never share a build key', () => {
    const { store, push } = mesh([]);
    const pod = podEntry(store, 'productpage-v1-0');
    const js = proxyFor(push, { ...grpcNode(pod), ...UA['grpc-js'], client_features: ['envoy.lb.x'] });
    const core = proxyFor(push, { ...grpcNode(pod), ...UA['grpc-core'] });
    assert.equal(js.client?.kind, 'grpc-js');
    assert.deepEqual(js.client?.features, ['envoy.lb.x']);
    assert.equal(core.client?.kind, 'grpc-core');
    assert.notEqual(push.sidecarScope(js).key, push.sidecarScope(core).key);
  });
});

describe('DestinationRule loadBalancer per client', () => {
  it('LEAST_CONN: Envoy LEAST_REQUEST; grpc-js load_balancing_policy [least_request, round_robin]; C-core round robin', () => {
    const dr = [reviewsRule({ loadBalancer: { simple: 'LEAST_CONN' } })];
    assert.equal(generate(dr, 'envoy').cluster(REVIEWS).lb_policy, 'LEAST_REQUEST');
    const js = generate(dr, 'grpc-js');
    const c = js.cluster(REVIEWS);
    assert.equal(c.lb_policy, undefined);
    assert.deepEqual(
      c.load_balancing_policy.policies.map((p: any) => p.typed_extension_config.name),
      ['envoy.load_balancing_policies.least_request', 'envoy.load_balancing_policies.round_robin'],
    );
    assert.ok(
      js.degraded.some((d) => d.resource === REVIEWS_V1 && d.config === 'DestinationRule default/reviews'),
    );
    for (const kind of ['grpc-core', 'grpc'] as const) {
      const g = generate(dr, kind);
      assert.equal(g.cluster(REVIEWS).lb_policy, undefined, kind);
      assert.equal(g.cluster(REVIEWS).load_balancing_policy, undefined, kind);
      const d = g.degraded.find((x) => x.resource === REVIEWS)!;
      assert.deepEqual(
        [d.client, d.type, d.feature, d.servedAs],
        [kind, 'cluster', 'loadBalancer LEAST_CONN', 'round robin'],
      );
    }
  });

  it('RANDOM and PASSTHROUGH: never RANDOM or ORIGINAL_DST for a gRPC client; EDS round robin, degraded', () => {
    for (const simple of ['RANDOM', 'PASSTHROUGH']) {
      const dr = [reviewsRule({ loadBalancer: { simple } })];
      for (const kind of ['grpc-js', 'grpc-core'] as const) {
        const g = generate(dr, kind);
        const c = g.cluster(REVIEWS);
        assert.equal(c.type, 'EDS', `${simple} ${kind}`);
        assert.ok(c.lb_policy === undefined || c.lb_policy === 'ROUND_ROBIN', `${simple} ${kind}`);
        assert.ok(g.degraded.some((d) => d.feature === `loadBalancer ${simple}` && d.resource === REVIEWS));
      }
    }
    assert.equal(
      generate([reviewsRule({ loadBalancer: { simple: 'PASSTHROUGH' } })], 'envoy').cluster(REVIEWS).type,
      'ORIGINAL_DST',
    );
  });

  it('ROUND_ROBIN: nothing degraded for any client', () => {
    for (const kind of ['grpc-js', 'grpc-core'] as const)
      assert.deepEqual(
        generate([reviewsRule({ loadBalancer: { simple: 'ROUND_ROBIN' } })], kind).degraded,
        [],
      );
  });

  it('consistentHash: grpc-js RING_HASH with XX_HASH; never RING_HASH to C-core (1.51 crashes on it)', () => {
    const dr = [reviewsRule({ loadBalancer: { consistentHash: { httpHeaderName: 'x-user' } } })];
    const js = generate(dr, 'grpc-js').cluster(REVIEWS);
    assert.equal(js.lb_policy, 'RING_HASH');
    assert.deepEqual(js.ring_hash_lb_config, {
      minimum_ring_size: { value: 1024 },
      hash_function: 'XX_HASH',
    });
    const core = generate(dr, 'grpc-core');
    assert.equal(core.cluster(REVIEWS).lb_policy, undefined);
    assert.ok(core.degraded.some((d) => d.feature === 'loadBalancer consistentHash'));
  });
});

describe('route matchers per client', () => {
  const routeOf = (kind: keyof typeof UA | 'envoy') => {
    const g = generate([reviewsHeaderRoute], kind);
    const rc = g.res.routes.find((r) => r.name === '9080') as Record<string, any>;
    const vh = rc.virtual_hosts.find((v: any) => String(v.name).startsWith('reviews'));
    return { routes: vh.routes as any[], degraded: g.degraded };
  };

  it('C-core and other gRPC clients: legacy exact_match/prefix_match/safe_regex_match (C-core NACKs string_match)', () => {
    for (const kind of ['grpc-core', 'grpc'] as const) {
      const h = routeOf(kind).routes[0].match.headers;
      assert.deepEqual(h, [
        { name: 'end-user', exact_match: 'jason' },
        { name: 'x-p', prefix_match: 'a' },
        { name: 'x-r', safe_regex_match: { regex: 'b+' } },
      ]);
    }
  });

  it('grpc-js and Envoy keep string_match', () => {
    for (const kind of ['grpc-js', 'envoy'] as const)
      assert.deepEqual(routeOf(kind).routes[0].match.headers[0], {
        name: 'end-user',
        string_match: { exact: 'jason' },
      });
  });

  it('a route that needs query parameters is left out for gRPC clients (no query string), kept for Envoy', () => {
    for (const kind of ['grpc-js', 'grpc-core'] as const) {
      const { routes, degraded } = routeOf(kind);
      assert.equal(routes.filter((r) => r.match.query_parameters).length, 0);
      assert.equal(routes.length, 2);
      const d = degraded.find((x) => x.type === 'route')!;
      assert.deepEqual(
        [d.resource, d.servedAs, d.config],
        ['9080', 'route left out', 'VirtualService default/reviews'],
      );
    }
    assert.equal(routeOf('envoy').routes.filter((r) => r.match.query_parameters).length, 1);
  });
});

describe('DegradationReporter', () => {
  it('reports each degradation once per resource, bounded', () => {
    const seen: Degradation[] = [];
    const r = new DegradationReporter((d) => seen.push(d), 2);
    const d = (resource: string): Degradation => ({
      client: 'grpc-core',
      type: 'cluster',
      resource,
      feature: 'loadBalancer LEAST_CONN',
      servedAs: 'round robin',
    });
    assert.equal(r.observe([d('a'), d('a'), d('b')]), 2);
    assert.equal(r.observe([d('a'), d('b')]), 0);
    assert.equal(r.observe([d('c')]), 1);
    assert.equal(r.observe([d('a')]), 1, 'the oldest entry was forgotten');
    assert.deepEqual(
      seen.map((x) => x.resource),
      ['a', 'b', 'c', 'a'],
    );
  });
});
