// Entry -> attribute mapping details: log_name direction, cluster names, flags, workloads, scoping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonToStruct } from '@keel/proto';
import {
  httpEntryBag,
  MapBag,
  MeshIndex,
  parseClusterName,
  reporterFromNode,
  responseFlagsText,
  TcpConnections,
  workloadOf,
} from '../src/index.js';

const node = {
  id: 'sidecar~10.0.0.9~sleep-7f4b9c6d8b-x2x9z.ns1~ns1.svc.cluster.local',
  metadata: jsonToStruct({ LABELS: { app: 'sleep' }, INSTANCE_IPS: '10.0.0.9' }),
};

describe('access-log entry mapping', () => {
  it('a log_name naming a direction wins over the cluster prefix', () => {
    const r = reporterFromNode(node, 'outbound-access-log');
    assert.equal(r.logKind, 'outbound');
    assert.equal(r.namespace, 'ns1');
    assert.equal(r.uid, 'kubernetes://sleep-7f4b9c6d8b-x2x9z.ns1');
    const bag = httpEntryBag(
      {
        common_properties: { upstream_cluster: 'PassthroughCluster' },
        request: { authority: 'example.com' },
        response: {},
      },
      r,
      new MeshIndex(),
    );
    assert.equal(bag.get('context.reporter.kind'), 'outbound');
    assert.equal(bag.get('source.namespace'), 'ns1');
    assert.equal(bag.get('source.workload.name'), 'sleep-7f4b9c6d8b-x2x9z');
    assert.equal(bag.get('destination.service.host'), undefined);
    assert.equal(bag.get('request.host'), 'example.com');
    assert.equal(
      bag.get('response.code'),
      undefined,
      'no response code logged: absent, so the default (200) applies',
    );
  });

  it('without a direction in log_name, the cluster prefix decides; inbound by default', () => {
    const r = reporterFromNode(node, 'keel-mixer');
    assert.equal(r.logKind, undefined);
    const kind = (cluster: string) =>
      httpEntryBag({ common_properties: { upstream_cluster: cluster } }, r, new MeshIndex()).get(
        'context.reporter.kind',
      );
    assert.equal(kind('outbound|80||httpbin.ns1.svc.cluster.local'), 'outbound');
    assert.equal(kind('inbound|80|http|sleep.ns1.svc.cluster.local'), 'inbound');
    assert.equal(kind('BlackHoleCluster'), 'inbound');
  });

  it('cluster names parse as Istio builds them', () => {
    assert.deepEqual(parseClusterName('outbound|9080|v1|reviews.default.svc.cluster.local'), {
      direction: 'outbound',
      port: 9080,
      subset: 'v1',
      host: 'reviews.default.svc.cluster.local',
    });
    assert.equal(parseClusterName('outbound|x||h'), undefined);
    assert.equal(parseClusterName('outbound_.9080_._.reviews'), undefined);
  });

  it('response flags print as Envoy short codes in field order', () => {
    assert.equal(responseFlagsText({ no_route_found: true, upstream_overflow: true }), 'UO,NR');
    assert.equal(responseFlagsText({ unauthorized_details: { reason: 1 } }), 'UAEX');
    assert.equal(responseFlagsText({}), '');
  });

  it('Deployment pods map to their Deployment; other pods are their own workload', () => {
    assert.equal(workloadOf('reviews-v2-7bf8c9648f-fghij', 'default').workload, 'reviews-v2');
    assert.equal(workloadOf('mongodb-0', 'default').workload, 'mongodb-0');
  });

  it('TCP connection tracking is bounded per stream', () => {
    const c = new TcpConnections(2);
    c.update('a', 1, 1, false);
    c.update('b', 1, 1, false);
    c.update('c', 1, 1, false);
    assert.equal(c.size, 2);
    assert.equal(c.update('a', 2, 2, true), undefined, 'the oldest was evicted');
    assert.deepEqual(c.update('c', 5, 5, true), { sent: 1, received: 1 });
  });

  it('MapBag from the pipeline leaves empty values absent', () => {
    const bag = new MapBag().set('x', '').set('y', undefined).set('z', 0);
    assert.deepEqual([...bag.names()], ['z']);
  });
});
