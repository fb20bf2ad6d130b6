import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryPolicy, translateCors, translateFault } from '../src/generate/route-action.js';
import { altHostNames, sharedLabels, virtualHostDomains } from '../src/generate/route-hosts.js';
import { translateRouteMatch } from '../src/generate/route-match.js';
import type { RouteContext } from '../src/generate/route-translate.js';
import { buildSidecarRoutes, translateRoute } from '../src/generate/routes.js';
import { buildPushContext } from '../src/model/push-context.js';
import type { ConfigEntry, Service } from '../src/model/types.js';
import { bookinfoNetworking, makeBookinfoMesh, podEntry, proxyFor, sidecarNode } from './fixtures/index.js';
import { expectGolden } from './golden.js';
import { checkedJson, ROUTE_CONFIGURATION } from './route-test-util.js';

const host = (s: string) => `${s}.default.svc.cluster.local`;

function svc(name: string, ports: number[], address = '10.0.0.9'): Service {
  return {
    hostname: host(name),
    namespace: 'default',
    name,
    address,
    ports: ports.map((port) => ({ name: 'http', port, protocol: 'HTTP' as const })),
    resolution: 'ClientSideLB',
    meshExternal: false,
    exportTo: ['*'],
    serviceAccounts: [],
    registry: 'kubernetes',
    selector: {},
    labels: {},
    createdAt: 0,
  };
}

function vs(spec: Record<string, any>, name = 'reviews'): ConfigEntry {
  return {
    kind: 'VirtualService',
    name,
    namespace: 'default',
    spec,
    labels: {},
    annotations: {},
    createdAt: 0,
    version: '1',
  };
}

const services = new Map([host('reviews'), host('ratings')].map((h) => [h, svc(h.split('.')[0]!, [9080])]));
const ctx: RouteContext = {
  port: 9080,
  gateways: new Set(['mesh']),
  proxyLabels: { app: 'productpage', version: 'v1' },
  domain: 'cluster.local',
  serviceFor: (h) => services.get(h),
};
const to = (dest: { host: string; subset?: string; port?: { number: number } }, weight?: number) => ({
  destination: dest,
  ...(weight === undefined ? {} : { weight }),
});

describe('translateRouteMatch', () => {
  const cases: Array<[string, any, any]> = [
    ['no match', undefined, { prefix: '/' }],
    ['uri exact', { uri: { exact: '/a' } }, { path: '/a' }],
    ['uri prefix', { uri: { prefix: '/s' } }, { prefix: '/s' }],
    ['uri regex', { uri: { regex: '/x.*' } }, { safe_regex: { regex: '/x.*' } }],
    [
      'headers sorted, then method/authority/scheme',
      {
        headers: { z: { exact: 'a' }, a: { prefix: 'p' }, r: { regex: 'b.*' } },
        method: { exact: 'GET' },
        authority: { prefix: 'x' },
        scheme: { exact: 'https' },
      },
      {
        prefix: '/',
        headers: [
          { name: 'a', string_match: { prefix: 'p' } },
          { name: 'r', string_match: { safe_regex: { regex: 'b.*' } } },
          { name: 'z', string_match: { exact: 'a' } },
          { name: ':method', string_match: { exact: 'GET' } },
          { name: ':authority', string_match: { prefix: 'x' } },
          { name: ':scheme', string_match: { exact: 'https' } },
        ],
      },
    ],
    [
      'query params',
      { queryParams: { b: { exact: '1' }, a: { regex: '\\d+' } } },
      {
        prefix: '/',
        query_parameters: [
          { name: 'a', string_match: { safe_regex: { regex: '\\d+' } } },
          { name: 'b', string_match: { exact: '1' } },
        ],
      },
    ],
  ];
  for (const [name, input, want] of cases) it(name, () => assert.deepEqual(translateRouteMatch(input), want));
});

describe('translateRoute', () => {
  it('single destination -> cluster with Istio defaults and host:port decorator', () => {
    const r = translateRoute(
      vs({ hosts: [host('reviews')] }),
      { route: [to({ host: 'reviews', subset: 'v1' })] },
      ctx,
    )!;
    const json = checkedJson('envoy.config.route.v3.Route', r);
    assert.equal(json.route.cluster, 'outbound|9080|v1|reviews.default.svc.cluster.local');
    assert.equal(json.route.timeout, '0s');
    assert.equal(json.route.maxStreamDuration.grpcTimeoutHeaderMax, '0s');
    assert.equal(json.route.retryPolicy.numRetries, 2);
    assert.deepEqual(json.route.retryPolicy.retriableStatusCodes, [503]);
    assert.equal(
      json.route.retryPolicy.retryHostPredicate[0].name,
      'envoy.retry_host_predicates.previous_hosts',
    );
    assert.equal(json.decorator.operation, 'reviews.default.svc.cluster.local:9080/*');
  });

  it('weights: zero weights dropped, a lone zero weight becomes a cluster, vs name in decorator', () => {
    const w = translateRoute(
      vs({}),
      {
        route: [
          to({ host: 'reviews', subset: 'v1' }, 50),
          to({ host: 'reviews', subset: 'v3' }, 50),
          to({ host: 'reviews', subset: 'v2' }, 0),
        ],
      },
      ctx,
    )!;
    assert.deepEqual(
      (w.route as any).weighted_clusters.clusters.map((c: any) => [c.name, c.weight.value]),
      [
        ['outbound|9080|v1|reviews.default.svc.cluster.local', 50],
        ['outbound|9080|v3|reviews.default.svc.cluster.local', 50],
      ],
    );
    assert.equal((w.decorator as any).operation, 'reviews:9080/*');
    const lone = translateRoute(vs({}), { route: [to({ host: 'reviews' }, 0)] }, ctx)!;
    assert.equal((lone.route as any).cluster, 'outbound|9080||reviews.default.svc.cluster.local');
  });

  it('port selection: explicit port, else the single service port, else the listener port', () => {
    const c = (d: { host: string; port?: { number: number } }) =>
      (
        translateRoute(
          vs({}),
          { route: [to(d)] },
          { ...ctx, serviceFor: (h) => (h === host('one') ? svc('one', [7000]) : undefined) },
        )!.route as any
      ).cluster;
    assert.equal(
      c({ host: 'reviews', port: { number: 8080 } }),
      'outbound|8080||reviews.default.svc.cluster.local',
    );
    assert.equal(c({ host: 'one' }), 'outbound|7000||one.default.svc.cluster.local');
    assert.equal(c({ host: 'ext.example.com' }), 'outbound|9080||ext.example.com');
  });

  it('static predicates: match port, sourceLabels and gateways filter the route', () => {
    const http = { route: [to({ host: 'reviews' })] };
    assert.equal(translateRoute(vs({}), http, ctx, { port: 8000 }), undefined);
    assert.ok(translateRoute(vs({}), http, ctx, { port: 9080 }));
    assert.equal(translateRoute(vs({}), http, ctx, { sourceLabels: { app: 'reviews' } }), undefined);
    assert.ok(translateRoute(vs({}), http, ctx, { sourceLabels: { app: 'productpage' } }));
    assert.equal(translateRoute(vs({}), http, ctx, { gateways: ['my-gw'] }), undefined);
    assert.ok(
      translateRoute(vs({}), http, { ...ctx, gateways: new Set(['default/my-gw']) }, { gateways: ['my-gw'] }),
    );
  });

  it('redirect, rewrite, mirror, headers, names', () => {
    const red = translateRoute(
      vs({}),
      { name: 'r', redirect: { uri: '/new/path', authority: 'redirect2.test.istio.io', redirectCode: 302 } },
      ctx,
      { name: 'm', uri: { exact: '/old' } },
    )!;
    assert.equal(red.name, 'r.m');
    assert.deepEqual(red.redirect, {
      response_code: 'FOUND',
      host_redirect: 'redirect2.test.istio.io',
      path_redirect: '/new/path',
    });
    assert.equal(translateRoute(vs({}), { redirect: { uri: '/x', redirectCode: 399 } }, ctx), undefined);
    const r = translateRoute(
      vs({}),
      {
        route: [to({ host: 'reviews' })],
        rewrite: { uri: '/v2', authority: 'new.host' },
        mirror: { host: 'ratings' },
        headers: {
          request: { set: { b: '1' }, add: { a: '2' }, remove: ['c'] },
          response: { remove: ['d'] },
        },
      },
      ctx,
    )!;
    const json = checkedJson('envoy.config.route.v3.Route', r);
    assert.equal(json.route.prefixRewrite, '/v2');
    assert.equal(json.route.hostRewriteLiteral, 'new.host');
    assert.deepEqual(json.route.requestMirrorPolicies, [
      { cluster: 'outbound|9080||ratings.default.svc.cluster.local' },
    ]);
    assert.deepEqual(json.requestHeadersToAdd, [
      { header: { key: 'b', value: '1' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'a', value: '2' } },
    ]);
    assert.deepEqual(json.requestHeadersToRemove, ['c']);
    assert.deepEqual(json.responseHeadersToRemove, ['d']);
  });

  it('timeout sets timeout and grpc_timeout_header_max; CORS goes to typed_per_filter_config', () => {
    const r = translateRoute(
      vs({}),
      {
        route: [to({ host: 'reviews' })],
        timeout: '1.5s',
        corsPolicy: {
          allowOrigin: ['https://a'],
          allowMethods: ['GET', 'POST'],
          maxAge: '24h',
          allowCredentials: true,
        },
      },
      ctx,
    )!;
    const json = checkedJson('envoy.config.route.v3.Route', r);
    assert.equal(json.route.timeout, '1.500s');
    assert.equal(json.route.maxStreamDuration.grpcTimeoutHeaderMax, '1.500s');
    const cors = json.typedPerFilterConfig['envoy.filters.http.cors'];
    assert.equal(cors['@type'], 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy');
    assert.deepEqual(cors.allowOriginStringMatch, [{ exact: 'https://a' }]);
    assert.equal(cors.allowMethods, 'GET,POST');
    assert.equal(cors.maxAge, '86400');
  });
});

describe('retries and faults', () => {
  it('retry policy: default, attempts 0 disables, overrides with status codes', () => {
    assert.equal((retryPolicy(undefined) as any).num_retries.value, 2);
    assert.equal(retryPolicy({ attempts: 0 }), undefined);
    const p = retryPolicy({
      attempts: 3,
      perTryTimeout: '2s',
      retryOn: 'gateway-error,connect-failure,503',
    }) as any;
    assert.equal(p.num_retries.value, 3);
    assert.equal(p.retry_on, 'gateway-error,connect-failure,retriable-status-codes');
    assert.deepEqual(p.retriable_status_codes, [503]);
    assert.deepEqual(p.per_try_timeout, { seconds: 2, nanos: 0 });
    assert.deepEqual((retryPolicy({ attempts: 1, retryOn: '5xx' }) as any).retriable_status_codes, []);
  });

  it('fault: percentage and legacy percent per MILLION; delay needs fixedDelay', () => {
    assert.deepEqual(translateFault({ delay: { fixedDelay: '7s', percentage: { value: 100 } } }), {
      delay: {
        fixed_delay: { seconds: 7, nanos: 0 },
        percentage: { numerator: 1000000, denominator: 'MILLION' },
      },
    });
    assert.deepEqual(translateFault({ abort: { httpStatus: 555, percent: 100 } }), {
      abort: { http_status: 555, percentage: { numerator: 1000000, denominator: 'MILLION' } },
    });
    assert.deepEqual(translateFault({ abort: { httpStatus: 500, percentage: { value: 0.1 } } }), {
      abort: { http_status: 500, percentage: { numerator: 1000, denominator: 'MILLION' } },
    });
    assert.equal(translateFault({ delay: { exponentialDelay: '1s' } }), undefined);
    assert.ok(translateCors({}));
  });
});

describe('virtual host domains', () => {
  it('same namespace: fqdn, short names, ClusterIP, each with and without port', () => {
    assert.deepEqual(
      virtualHostDomains(svc('reviews', [9080], '10.0.0.4'), 9080, 'default.svc.cluster.local'),
      [
        'reviews.default.svc.cluster.local',
        'reviews.default.svc.cluster.local:9080',
        'reviews',
        'reviews:9080',
        'reviews.default.svc.cluster',
        'reviews.default.svc.cluster:9080',
        'reviews.default.svc',
        'reviews.default.svc:9080',
        'reviews.default',
        'reviews.default:9080',
        '10.0.0.4',
        '10.0.0.4:9080',
      ],
    );
  });
  it('other namespace and external hosts', () => {
    assert.deepEqual(altHostNames('reviews.default.svc.cluster.local', 'istio-system.svc.cluster.local'), [
      'reviews.default',
      'reviews.default.svc.cluster',
      'reviews.default.svc',
    ]);
    assert.deepEqual(altHostNames('www.google.com', 'default.svc.cluster.local'), []);
  });
  it('sharedLabels counts the trailing labels two names share, as splitting them would', () => {
    const bySplit = (a: string, b: string) => {
      const x = a.split('.').reverse();
      const y = b.split('.').reverse();
      let n = 0;
      while (n < Math.min(x.length, y.length) && x[n] === y[n]) n++;
      return n;
    };
    const names = [
      'reviews.default.svc.cluster.local',
      'default.svc.cluster.local',
      'istio-system.svc.cluster.local',
      'svc.cluster.local',
      'xsvc.cluster.local',
      'a.b.c',
      'ab.c',
      'b.c',
      'c',
      'www.google.com',
      'cluster.local',
      'local',
      'xlocal',
    ];
    for (const a of names)
      for (const b of names) assert.equal(sharedLabels(a, b), bySplit(a, b), `${a} / ${b}`);
  });
});

function bookinfoRds(files: string[], mesh: Record<string, any> = {}) {
  const store = makeBookinfoMesh(files.map(bookinfoNetworking), mesh);
  const push = buildPushContext(store);
  const proxy = proxyFor(push, sidecarNode(podEntry(store, 'productpage-v1-0')));
  const [rc] = buildSidecarRoutes(push, proxy, ['9080']);
  return checkedJson(ROUTE_CONFIGURATION, rc);
}

const vhost = (rc: Record<string, any>, name: string) => rc.virtualHosts.find((v: any) => v.name === name);

describe('buildSidecarRoutes: bookinfo RDS "9080"', () => {
  it('no VirtualService: 4 default vhosts plus allow_any', () => {
    const rc = bookinfoRds([]);
    assert.deepEqual(
      rc.virtualHosts.map((v: any) => v.name),
      [
        'details.default.svc.cluster.local:9080',
        'productpage.default.svc.cluster.local:9080',
        'ratings.default.svc.cluster.local:9080',
        'reviews.default.svc.cluster.local:9080',
        'allow_any',
      ],
    );
    const reviews = vhost(rc, 'reviews.default.svc.cluster.local:9080');
    assert.equal(reviews.routes[0].name, 'default');
    assert.equal(reviews.routes[0].route.cluster, 'outbound|9080||reviews.default.svc.cluster.local');
    assert.ok(reviews.domains.includes('reviews:9080'));
    assert.equal(vhost(rc, 'allow_any').routes[0].route.cluster, 'PassthroughCluster');
    expectGolden('rds-9080-bookinfo-default', rc);
  });

  it('REGISTRY_ONLY ends with block_all (502); unknown route names are empty', () => {
    const rc = bookinfoRds([], { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } });
    const last = rc.virtualHosts.at(-1);
    assert.equal(last.name, 'block_all');
    assert.equal(last.routes[0].directResponse.status, 502);
    const store = makeBookinfoMesh();
    const push = buildPushContext(store);
    const proxy = proxyFor(push, sidecarNode(podEntry(store, 'productpage-v1-0')));
    const [empty] = buildSidecarRoutes(push, proxy, ['http_proxy']);
    assert.deepEqual(empty, { name: 'http_proxy', virtual_hosts: [], validate_clusters: { value: false } });
  });

  it('virtual-service-all-v1: every host routes to subset v1', () => {
    const rc = bookinfoRds(['virtual-service-all-v1.yaml']);
    for (const s of ['details', 'productpage', 'ratings', 'reviews']) {
      assert.equal(vhost(rc, `${host(s)}:9080`).routes[0].route.cluster, `outbound|9080|v1|${host(s)}`);
    }
    expectGolden('rds-9080-virtual-service-all-v1', rc);
  });

  it('reviews-50-v3 and reviews-80-20: weighted clusters', () => {
    const a = bookinfoRds(['virtual-service-reviews-50-v3.yaml']);
    const r = vhost(a, `${host('reviews')}:9080`).routes[0];
    assert.deepEqual(
      r.route.weightedClusters.clusters.map((c: any) => c.weight),
      [50, 50],
    );
    assert.equal(r.decorator.operation, 'reviews:9080/*');
    expectGolden('rds-9080-virtual-service-reviews-50-v3', a);
    const b = bookinfoRds(['virtual-service-reviews-80-20.yaml']);
    assert.deepEqual(
      vhost(b, `${host('reviews')}:9080`).routes[0].route.weightedClusters.clusters.map((c: any) => [
        c.name,
        c.weight,
      ]),
      [
        [`outbound|9080|v1|${host('reviews')}`, 80],
        [`outbound|9080|v2|${host('reviews')}`, 20],
      ],
    );
    expectGolden('rds-9080-virtual-service-reviews-80-20', b);
  });

  it('reviews-test-v2: header match end-user=jason first, then the default', () => {
    const rc = bookinfoRds(['virtual-service-reviews-test-v2.yaml']);
    const routes = vhost(rc, `${host('reviews')}:9080`).routes;
    assert.equal(routes.length, 2);
    assert.deepEqual(routes[0].match.headers, [{ name: 'end-user', stringMatch: { exact: 'jason' } }]);
    assert.equal(routes[0].route.cluster, `outbound|9080|v2|${host('reviews')}`);
    assert.equal(routes[1].route.cluster, `outbound|9080|v1|${host('reviews')}`);
    expectGolden('rds-9080-virtual-service-reviews-test-v2', rc);
  });

  it('ratings-test-delay and ratings-test-abort: fault per route', () => {
    const d = bookinfoRds(['virtual-service-ratings-test-delay.yaml']);
    const fault = vhost(d, `${host('ratings')}:9080`).routes[0].typedPerFilterConfig[
      'envoy.filters.http.fault'
    ];
    assert.equal(fault['@type'], 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault');
    assert.deepEqual(fault.delay, {
      fixedDelay: '7s',
      percentage: { numerator: 1000000, denominator: 'MILLION' },
    });
    expectGolden('rds-9080-virtual-service-ratings-test-delay', d);
    const a = bookinfoRds(['virtual-service-ratings-test-abort.yaml']);
    const abort = vhost(a, `${host('ratings')}:9080`).routes[0].typedPerFilterConfig[
      'envoy.filters.http.fault'
    ].abort;
    assert.deepEqual(abort, { httpStatus: 500, percentage: { numerator: 1000000, denominator: 'MILLION' } });
    expectGolden('rds-9080-virtual-service-ratings-test-abort', a);
  });

  it('fault-injection-details-v1: abort 555 from the legacy percent; the route after a catch-all is dropped', () => {
    const rc = bookinfoRds(['fault-injection-details-v1.yaml']);
    const routes = vhost(rc, `${host('details')}:9080`).routes;
    assert.equal(routes.length, 1);
    assert.deepEqual(routes[0].typedPerFilterConfig['envoy.filters.http.fault'].abort, {
      httpStatus: 555,
      percentage: { numerator: 1000000, denominator: 'MILLION' },
    });
    expectGolden('rds-9080-fault-injection-details-v1', rc);
  });
});
