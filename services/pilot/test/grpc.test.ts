import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildGrpcListeners, buildGrpcRoutes } from '../src/generate/grpc.js';
import { buildPushContext } from '../src/model/push-context.js';
import { bookinfoNetworking, grpcNode, makeBookinfoMesh, podEntry, proxyFor } from './fixtures/index.js';
import { expectGolden } from './golden.js';
import { checkedJson, LISTENER, ROUTE_CONFIGURATION } from './route-test-util.js';

function grpcClient(files: string[] = []) {
  const store = makeBookinfoMesh(files.map(bookinfoNetworking));
  const push = buildPushContext(store);
  return { push, proxy: proxyFor(push, grpcNode(podEntry(store, 'productpage-v1-0'))) };
}

describe('gRPC API listeners', () => {
  it('fqdn and short names per service port, RDS "9080" over ADS, router last', () => {
    const { push, proxy } = grpcClient();
    const listeners = buildGrpcListeners(push, proxy).map((l) => checkedJson(LISTENER, l));
    const names = listeners.map((l) => l.name);
    assert.equal(names.length, 4 * 5);
    for (const n of [
      'reviews.default.svc.cluster.local:9080',
      'reviews:9080',
      'reviews.default:9080',
      'reviews.default.svc:9080',
    ]) {
      assert.ok(names.includes(n), n);
    }
    const hcm = listeners[0]!.apiListener.apiListener;
    assert.deepEqual(hcm.rds, {
      configSource: { ads: {}, resourceApiVersion: 'V3' },
      routeConfigName: '9080',
    });
    assert.deepEqual(
      hcm.httpFilters.map((f: any) => f.name),
      ['envoy.filters.http.fault', 'envoy.filters.http.router'],
    );
    expectGolden('lds-grpc-bookinfo', listeners);
  });

  it('routes: no fallthrough vhost, no Envoy-only retry fields, fault overrides kept', () => {
    const { push, proxy } = grpcClient(['virtual-service-ratings-test-abort.yaml']);
    const [rc] = buildGrpcRoutes(push, proxy, ['9080']).map((r) => checkedJson(ROUTE_CONFIGURATION, r));
    const names = rc!.virtualHosts.map((v: any) => v.name);
    assert.ok(!names.includes('allow_any'));
    const ratings = rc!.virtualHosts.find((v: any) => v.name.startsWith('ratings'));
    assert.ok(ratings.domains.includes('ratings:9080'));
    const r0 = ratings.routes[0];
    assert.equal(r0.route.retryPolicy.retryHostPredicate, undefined);
    assert.equal(r0.typedPerFilterConfig['envoy.filters.http.fault'].abort.httpStatus, 500);
    expectGolden('rds-grpc-9080-ratings-test-abort', rc);
  });
});
