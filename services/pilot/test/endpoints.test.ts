import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findUnknownFields, toProtoJson } from '@keel/proto';
import { sharedTestdata } from '@keel/testing';
import { buildEndpoints, endpointsForCluster } from '../src/generate/endpoints.js';
import { buildPushContext } from '../src/model/push-context.js';
import {
  BOOKINFO_LOCALITY,
  bookinfoNetworking,
  loadMesh,
  loadStore,
  makeBookinfoMesh,
  podEntry,
  proxyFor,
  sidecarNode,
} from './fixtures/index.js';
import { expectGolden } from './golden.js';

const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
const REVIEWS = 'reviews.default.svc.cluster.local';

function checked(cla: Record<string, unknown>): Record<string, any> {
  assert.deepEqual(findUnknownFields(CLA, cla), []);
  return toProtoJson(CLA, cla) as Record<string, any>;
}

describe('endpointsForCluster: bookinfo reviews', () => {
  const store = makeBookinfoMesh([bookinfoNetworking('destination-rule-all.yaml')]);
  const push = buildPushContext(store);
  const proxy = proxyFor(push, sidecarNode(podEntry(store, 'productpage-v1-0')));

  it('has 3 endpoints (v1, v2, v3) in one locality with uid and tlsMode metadata', () => {
    const json = checked(endpointsForCluster(push, proxy, `outbound|9080||${REVIEWS}`));
    assert.equal(json.endpoints.length, 1);
    const group = json.endpoints[0];
    assert.deepEqual(group.locality, { region: BOOKINFO_LOCALITY.region, zone: BOOKINFO_LOCALITY.zone });
    assert.equal(group.loadBalancingWeight, 3);
    const eps = group.lbEndpoints as Array<Record<string, any>>;
    assert.deepEqual(
      eps.map((e) => e.metadata.filterMetadata.istio.uid),
      [
        'kubernetes://reviews-v1-0.default',
        'kubernetes://reviews-v2-0.default',
        'kubernetes://reviews-v3-0.default',
      ],
    );
    for (const e of eps) {
      assert.deepEqual(e.metadata.filterMetadata['envoy.transport_socket_match'], { tlsMode: 'istio' });
      assert.equal(e.endpoint.address.socketAddress.portValue, 9080);
    }
    const versions = (push.endpointsByHost.get(REVIEWS) ?? []).map((e) => e.labels.version).sort();
    assert.deepEqual(versions, ['v1', 'v2', 'v3']);
    expectGolden('eds-bookinfo-reviews', json);
  });

  it('narrows subsets by the DestinationRule labels', () => {
    const cases: Array<[string, string[]]> = [
      ['v1', ['kubernetes://reviews-v1-0.default']],
      ['v3', ['kubernetes://reviews-v3-0.default']],
      [
        'nosuch',
        [
          'kubernetes://reviews-v1-0.default',
          'kubernetes://reviews-v2-0.default',
          'kubernetes://reviews-v3-0.default',
        ],
      ],
    ];
    for (const [subset, uids] of cases) {
      const json = checked(endpointsForCluster(push, proxy, `outbound|9080|${subset}|${REVIEWS}`));
      const got = json.endpoints.flatMap((g: Record<string, any>) =>
        g.lbEndpoints.map((e: Record<string, any>) => e.metadata.filterMetadata.istio.uid),
      );
      assert.deepEqual(got, uids, subset);
    }
  });

  it('answers every requested name in order, empty for unknown or inbound names', () => {
    const names = [
      `outbound|9080||${REVIEWS}`,
      'outbound|1||nosuch.example.com',
      `inbound|9080|http|${REVIEWS}`,
    ];
    const out = buildEndpoints(push, proxy, names);
    assert.deepEqual(
      out.map((c) => c.cluster_name),
      names,
    );
    assert.deepEqual(out[1]!.endpoints, []);
    assert.deepEqual(out[2]!.endpoints, []);
  });
});

describe('endpointsForCluster: ServiceEntry endpoints (sidecar-ns-scope)', () => {
  it('splits http1 by version label; weight and empty locality kept for grpc-js-xds', () => {
    const dir = sharedTestdata('tests', 'testdata', 'networking', 'sidecar-ns-scope');
    const push = buildPushContext(loadStore([`${dir}/configs.yaml`], loadMesh(`${dir}/mesh.yaml`)));
    const proxy = proxyFor(push, { id: 'sidecar~100.1.1.2~app.ns1~ns1.svc.cluster.local' });
    const addresses = (subset: string) =>
      checked(
        endpointsForCluster(push, proxy, `outbound|8080|${subset}|http1.ns1.svc.cluster.local`),
      ).endpoints.flatMap((g: Record<string, any>) =>
        g.lbEndpoints.map((e: Record<string, any>) => e.endpoint.address.socketAddress.address),
      );
    assert.deepEqual(addresses(''), ['100.1.1.1', '100.1.2.1']);
    assert.deepEqual(addresses('v1'), ['100.1.1.1']);
    assert.deepEqual(addresses('v2'), ['100.1.2.1']);
    const raw = endpointsForCluster(push, proxy, 'outbound|8080||http1.ns1.svc.cluster.local');
    const group = (raw.endpoints as Array<Record<string, any>>)[0]!;
    assert.deepEqual(group.locality, {});
    assert.deepEqual(group.load_balancing_weight, { value: 2 });
    expectGolden('eds-sidecar-ns-scope-http1', checked(raw));
  });
});
