// Istio-valid config that translates into something Envoy rejects: the bad part is repaired or
// left out, the rest of the resource (other services on the same port) is untouched, and the
// config object is named. Through the production path (Galley validation, MCP Struct, Pilot).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pgvContentHits, pgvViolations } from '../src/generate/envoy-pgv.js';
import { enforceEnvoyRules } from '../src/generate/envoy-rules.js';
import {
  checkResources,
  type EnvoyRuleRejection,
  generateProxyResources,
  newEnvoyFilterStats,
  newListenerStats,
} from '../src/generate/index.js';
import { buildPushContext } from '../src/model/push-context.js';
import type { ProxyResources } from '../src/model/types.js';
import {
  BOOKINFO_YAML,
  type KubeObject,
  podEntry,
  proxyFor,
  readObjects,
  runCluster,
  sidecarNode,
  snapshotOf,
  toConfigEntries,
} from './fixtures/index.js';

type O = Record<string, any>;
const CLUSTER = runCluster(readObjects([BOOKINFO_YAML]));
const REVIEWS = 'reviews.default.svc.cluster.local';

function generate(objects: KubeObject[]): { res: ProxyResources; rejected: EnvoyRuleRejection[] } {
  const store = snapshotOf(toConfigEntries([...CLUSTER, ...objects]));
  const push = buildPushContext(store);
  const stats = { listeners: newListenerStats(), envoyFilters: newEnvoyFilterStats(), rejected: [] };
  const res = generateProxyResources(
    push,
    proxyFor(push, sidecarNode(podEntry(store, 'productpage-v1-0'))),
    stats,
  );
  return { res, rejected: stats.rejected };
}

const vs = (name: string, http: O[]) => ({
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'VirtualService',
  metadata: { name, namespace: 'default' },
  spec: { hosts: ['reviews'], http },
});
const ef = (name: string, configPatches: O[]) => ({
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'EnvoyFilter',
  metadata: { name, namespace: 'default' },
  spec: { workloadSelector: { labels: { app: 'productpage' } }, configPatches },
});

const rds = (res: ProxyResources, name = '9080') => res.routes.find((r) => r.name === name) as O;
const vhost = (res: ProxyResources, host: string) =>
  (rds(res).virtual_hosts as O[]).find((v) => v.name === `${host}:9080`);
const others = (res: ProxyResources) =>
  JSON.stringify((rds(res).virtual_hosts as O[]).filter((v) => v.name !== `${REVIEWS}:9080`));

const baseline = generate([]).res;

describe('Envoy-rules check: bad parts repaired or left out, the rest sent, the config named', () => {
  it('a VirtualService setting Host gets host_rewrite_literal instead', () => {
    const { res, rejected } = generate([
      vs('reviews-host', [
        {
          headers: { request: { set: { Host: 'reviews.example.com', 'x-ok': '1' } } },
          route: [{ destination: { host: 'reviews' } }],
        },
      ]),
    ]);
    const route = vhost(res, REVIEWS)!.routes[0];
    assert.equal(route.route.host_rewrite_literal, 'reviews.example.com');
    assert.deepEqual(
      route.request_headers_to_add.map((h: O) => h.header.key),
      ['x-ok'],
    );
    assert.equal(others(res), others(baseline), 'other services on port 9080 untouched');
    assert.deepEqual(
      rejected.map((r) => [r.type, r.resource, r.config, r.action]),
      [['route', '9080', 'VirtualService default/reviews-host', 'repaired']],
    );
    assert.deepEqual(checkResources(res), []);
  });

  it('`:`-prefixed and host header mutations are removed, the route kept', () => {
    const { res, rejected } = generate([
      vs('reviews-pseudo', [
        {
          headers: { request: { set: { ':authority': 'x' }, remove: ['host', 'x-gone'] } },
          route: [
            {
              destination: { host: 'reviews', subset: 'v1' },
              weight: 50,
              headers: { request: { add: { ':path': '/x' } } },
            },
            { destination: { host: 'reviews', subset: 'v2' }, weight: 50 },
          ],
        },
      ]),
      {
        apiVersion: 'networking.istio.io/v1alpha3',
        kind: 'DestinationRule',
        metadata: { name: 'reviews', namespace: 'default' },
        spec: {
          host: 'reviews',
          subsets: [
            { name: 'v1', labels: { version: 'v1' } },
            { name: 'v2', labels: { version: 'v2' } },
          ],
        },
      },
    ]);
    const route = vhost(res, REVIEWS)!.routes[0];
    assert.equal(route.request_headers_to_add, undefined);
    assert.deepEqual(route.request_headers_to_remove, ['x-gone']);
    assert.equal(route.route.weighted_clusters.clusters[0].request_headers_to_add, undefined);
    assert.equal(others(res), others(baseline));
    assert.equal(rejected.length, 3);
    assert.ok(
      rejected.every((r) => r.config === 'VirtualService default/reviews-pseudo' && r.action === 'removed'),
    );
    assert.deepEqual(checkResources(res), []);
  });

  it('an EnvoyFilter patch with an invalid cluster value is left out (cluster unpatched)', () => {
    const { res, rejected } = generate([
      ef('bad-ejection', [
        {
          applyTo: 'CLUSTER',
          match: { context: 'SIDECAR_OUTBOUND', cluster: { service: REVIEWS } },
          patch: {
            operation: 'MERGE',
            value: { outlier_detection: { max_ejection_percent: { value: 200 } } },
          },
        },
      ]),
    ]);
    const reviews = res.clusters.find((c) => c.name === `outbound|9080||${REVIEWS}`) as O;
    const before = baseline.clusters.find((c) => c.name === `outbound|9080||${REVIEWS}`) as O;
    assert.equal(JSON.stringify(reviews), JSON.stringify(before));
    assert.deepEqual(
      rejected.map((r) => [r.type, r.resource, r.config, r.action]),
      [['cluster', `outbound|9080||${REVIEWS}`, 'EnvoyFilter default/bad-ejection', 'unpatched']],
    );
    assert.match(rejected[0]!.reason, /outlier_detection.max_ejection_percent: value must be at most 100/);
    assert.deepEqual(checkResources(res), []);
  });

  it('an EnvoyFilter putting a filter after the router is left out (listener unpatched)', () => {
    const { res, rejected } = generate([
      ef('after-router', [
        {
          applyTo: 'HTTP_FILTER',
          match: {
            context: 'SIDECAR_OUTBOUND',
            listener: {
              portNumber: 9080,
              filterChain: {
                filter: { name: 'envoy.http_connection_manager', subFilter: { name: 'envoy.router' } },
              },
            },
          },
          patch: { operation: 'INSERT_AFTER', value: { name: 'envoy.fault' } },
        },
      ]),
    ]);
    assert.deepEqual(
      rejected.map((r) => [r.type, r.resource, r.action]),
      [['listener', '0.0.0.0_9080', 'unpatched']],
    );
    assert.match(rejected[0]!.reason, /must be the last filter/);
    assert.equal(
      JSON.stringify(res.listeners.find((l) => l.name === '0.0.0.0_9080')),
      JSON.stringify(baseline.listeners.find((l) => l.name === '0.0.0.0_9080')),
    );
    assert.deepEqual(checkResources(res), []);
  });

  it('an EnvoyFilter adding a virtual host with a duplicate domain loses that domain only', () => {
    const { res, rejected } = generate([
      ef('dup-vhost', [
        {
          applyTo: 'VIRTUAL_HOST',
          match: { context: 'SIDECAR_OUTBOUND', routeConfiguration: { portNumber: 9080 } },
          patch: {
            operation: 'ADD',
            value: { name: 'extra', domains: ['reviews', 'extra.example.com'], routes: [] },
          },
        },
      ]),
    ]);
    const extra = (rds(res).virtual_hosts as O[]).find((v) => v.name === 'extra');
    assert.deepEqual(extra?.domains, ['extra.example.com']);
    assert.equal(others(res).length > 0, true);
    assert.deepEqual(
      rejected.map((r) => [r.unit, r.config, r.action]),
      [['extra', 'EnvoyFilter default/dup-vhost', 'removed']],
    );
    assert.match(rejected[0]!.reason, /duplicate domain "reviews"/);
    assert.deepEqual(checkResources(res), []);
  });
});

describe('Envoy-rules check done once per content', () => {
  it('a rebuild with fresh objects skips contents that passed, and still finds every fault', () => {
    const bad = [
      vs('reviews-again', [
        {
          headers: { request: { set: { ':authority': 'x' } } },
          route: [{ destination: { host: 'reviews' } }],
        },
      ]),
    ];
    const first = generate(bad);
    const hits = pgvContentHits();
    const second = generate(bad);
    assert.ok(pgvContentHits() > hits, 'the second build reused checks by content');
    assert.deepEqual(second.rejected, first.rejected, 'the faulty route is checked and reported again');
    assert.equal(first.rejected.length, 1);
    assert.equal(JSON.stringify(second.res), JSON.stringify(first.res));
    assert.deepEqual(checkResources(second.res), []);
  });
});

describe('PGV rules walked from the descriptors', () => {
  it('reports rules of nested messages, oneofs, enums and header names', () => {
    const errors = pgvViolations(
      'envoy.config.route.v3.RouteConfiguration',
      {
        name: 'x',
        virtual_hosts: [
          {
            name: '',
            domains: [],
            routes: [{ match: {}, route: { cluster: '' } }],
            request_headers_to_add: [{ header: { key: 'bad header', value: 'v' } }],
          },
        ],
      },
      'rc',
    );
    assert.deepEqual(errors, [
      'rc.virtual_hosts[0].name: value length must be at least 1 characters',
      'rc.virtual_hosts[0].domains: value must contain at least 1 item(s)',
      'rc.virtual_hosts[0].routes[0].match: exactly one of prefix, path, safe_regex, connect_matcher, path_separated_prefix, path_match_policy is required',
      'rc.virtual_hosts[0].routes[0].route.cluster: value length must be at least 1 characters',
      'rc.virtual_hosts[0].request_headers_to_add[0].header.key: value does not match regex pattern HTTP_HEADER_NAME',
    ]);
  });
  it('deprecated fields are reported when asked', () => {
    const route = {
      match: { prefix: '/' },
      route: { cluster: 'c', max_grpc_timeout: { seconds: 0, nanos: 0 } },
    };
    assert.deepEqual(pgvViolations('envoy.config.route.v3.Route', route, 'r'), []);
    assert.deepEqual(pgvViolations('envoy.config.route.v3.Route', route, 'r', true), [
      'r.route.max_grpc_timeout: deprecated field',
    ]);
  });
});

describe('virtual hosts that passed before (the same objects)', () => {
  const host = (name: string, domains: string[]): O => ({
    name,
    domains,
    routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: `outbound|80||${name}` } }],
  });
  const table = (hosts: O[]): ProxyResources => ({
    clusters: [],
    endpoints: [],
    listeners: [],
    routes: [{ name: '80', virtual_hosts: hosts }],
  });
  const check = (hosts: O[]) => {
    const out: EnvoyRuleRejection[] = [];
    const res = enforceEnvoyRules(table(hosts), table(hosts), [], out);
    return { hosts: (res.routes[0]!.virtual_hosts as O[]).map((h) => [h.name, h.domains]), out };
  };

  it('pass again by identity, but a domain another host of the table took is still found', () => {
    const a = host('a', ['a.example.com', 'shared.example.com']);
    const b = host('b', ['b.example.com', 'SHARED.example.com']);
    // Each passes alone, so both are remembered as objects that passed.
    assert.deepEqual(check([a]).out, []);
    assert.deepEqual(check([b]).out, []);
    assert.deepEqual(check([a]).hosts, [['a', ['a.example.com', 'shared.example.com']]]);
    // Together, b's second domain is a duplicate (case-insensitively): b loses it, a keeps its own.
    const both = check([a, b]);
    assert.deepEqual(both.hosts, [
      ['a', ['a.example.com', 'shared.example.com']],
      ['b', ['b.example.com']],
    ]);
    assert.equal(both.out.length, 1);
    assert.match(both.out[0]!.reason, /duplicate domain "SHARED.example.com"/);
    // (b keeping b.example.com with one report shows the domains b claimed before the duplicate were given
    // back before b was checked again in full.) A third host wanting b.example.com loses it.
    const c = host('c', ['b.example.com']);
    assert.deepEqual(check([c]).out, []);
    const three = check([a, b, c]);
    assert.deepEqual(
      three.hosts.map(([n]) => n),
      ['a', 'b'],
    );
    assert.match(three.out.at(-1)!.reason, /no domain left/);
  });
});
