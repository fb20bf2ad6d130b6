import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypeUrl, typed, XDS_ORDER } from '@keel/proto';
import { makeResource, type NodeStatus, Snapshot, SnapshotCache, type SotwResponse } from '../src/index.js';
import { apiListener, edsCluster, endpoints, routeConfig } from './helpers.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

test('consistent() reports a missing route config and a missing EDS name', () => {
  const listener = makeResource(TypeUrl.Listener, 'in', {
    name: 'in',
    address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: typed(HCM, { stat_prefix: 'in', rds: { route_config_name: 'absent-route' } }),
          },
        ],
      },
    ],
  });
  const withService = makeResource(TypeUrl.Cluster, 'c-svc', {
    name: 'c-svc',
    type: 'EDS',
    eds_cluster_config: { service_name: 'absent-eds', eds_config: { ads: {} } },
  });
  const staticCluster = makeResource(TypeUrl.Cluster, 'static', { name: 'static', type: 'STATIC' });
  const snapshot = new Snapshot([
    listener,
    apiListener('api', 'r1'),
    routeConfig('r1', 'c1'),
    edsCluster('c1'),
    endpoints('c1', 1),
    withService,
    staticCluster,
  ]);
  assert.deepEqual(snapshot.consistent().sort(), [
    `${TypeUrl.ClusterLoadAssignment}/absent-eds`,
    `${TypeUrl.RouteConfiguration}/absent-route`,
  ]);
  const fixed = new Snapshot([
    apiListener('api', 'r1'),
    routeConfig('r1', 'c1'),
    edsCluster('c1'),
    endpoints('c1', 1),
  ]);
  assert.deepEqual(fixed.consistent(), []);
});

test('versions are content hashes: equal content, equal version; any change, a new one', () => {
  const a = new Snapshot([edsCluster('c1'), endpoints('c1', 1)]);
  const b = new Snapshot([edsCluster('c1'), endpoints('c1', 1)]);
  const c = new Snapshot([edsCluster('c1'), endpoints('c1', 2)]);
  assert.equal(a.version(TypeUrl.ClusterLoadAssignment), b.version(TypeUrl.ClusterLoadAssignment));
  assert.notEqual(a.version(TypeUrl.ClusterLoadAssignment), c.version(TypeUrl.ClusterLoadAssignment));
  assert.equal(a.version(TypeUrl.Cluster), c.version(TypeUrl.Cluster));
  assert.notEqual(a.version(TypeUrl.Listener), '', 'an empty served type still has a version');
  assert.equal(a.version(TypeUrl.Secret), '', 'an unserved type has none');
});

test('a snapshot on a base shares unchanged types; derived versions follow content', () => {
  const shared = ['c3', 'c1', 'c5', 'c2'].map((n) => edsCluster(n));
  const eds = [endpoints('c1', 1), endpoints('c2', 1)];
  const base = new Snapshot([...shared, ...eds, apiListener('a', 'r1'), routeConfig('r1', 'c1')]);
  const own = [edsCluster('c4'), edsCluster('c0'), edsCluster('c5', 'LEAST_REQUEST')];
  const list = [...shared, ...own, ...eds, apiListener('b', 'r1')];
  const derived = new Snapshot(list, { base });
  const scratch = new Snapshot(list);
  for (const t of [TypeUrl.ClusterLoadAssignment, TypeUrl.RouteConfiguration])
    assert.equal(derived.version(t), scratch.version(t), `${t}: shared with the base`);
  const again = new Snapshot(
    [
      ...shared,
      edsCluster('c4'),
      edsCluster('c0'),
      edsCluster('c5', 'LEAST_REQUEST'),
      ...eds,
      apiListener('b', 'r1'),
    ],
    { base },
  );
  const changed = new Snapshot(
    [...shared, edsCluster('c4'), edsCluster('c0'), ...eds, apiListener('b', 'r2')],
    {
      base,
    },
  );
  for (const t of [TypeUrl.Cluster, TypeUrl.Listener]) {
    assert.equal(again.version(t), derived.version(t), `${t}: equal content (new objects), equal version`);
    assert.notEqual(changed.version(t), derived.version(t), `${t}: other content, other version`);
    assert.notEqual(derived.version(t), base.version(t));
  }
  assert.equal(
    derived.resources(TypeUrl.ClusterLoadAssignment),
    base.resources(TypeUrl.ClusterLoadAssignment),
  );
  assert.notEqual(derived.resources(TypeUrl.Cluster), base.resources(TypeUrl.Cluster));
  assert.deepEqual(
    [...derived.resources(TypeUrl.Cluster).keys()],
    ['c3', 'c1', 'c5', 'c2', 'c4', 'c0'],
    'order as given, later same names replace earlier ones',
  );
  assert.equal(derived.resources(TypeUrl.Cluster).get('c5'), own[2]);
  const cache = new SnapshotCache();
  const answer = (s: Snapshot) => cache.sotwAnswer(s, TypeUrl.ClusterLoadAssignment, ['c1'], '');
  assert.equal(answer(derived), answer(base), 'answers of a shared type are shared');
});

test('a composed snapshot takes each type from its source: same resources, versions and answers', () => {
  const a = new Snapshot([edsCluster('c1'), edsCluster('c2'), endpoints('c1', 1), apiListener('a', 'r1')]);
  const b = new Snapshot([edsCluster('c9'), endpoints('c1', 2), routeConfig('r1', 'c1')]);
  const c = Snapshot.compose([
    [TypeUrl.Cluster, a],
    [TypeUrl.Listener, a],
    [TypeUrl.ClusterLoadAssignment, b],
    [TypeUrl.RouteConfiguration, b],
  ]);
  const scratch = new Snapshot([
    edsCluster('c1'),
    edsCluster('c2'),
    endpoints('c1', 2),
    apiListener('a', 'r1'),
    routeConfig('r1', 'c1'),
  ]);
  for (const [t, source] of [
    [TypeUrl.Cluster, a],
    [TypeUrl.Listener, a],
    [TypeUrl.ClusterLoadAssignment, b],
    [TypeUrl.RouteConfiguration, b],
  ] as const) {
    assert.equal(c.resources(t), source.resources(t), `${t}: the source's map`);
    assert.equal(c.version(t), scratch.version(t), `${t}: the version built from scratch`);
  }
  assert.deepEqual(c.types().sort(), [...XDS_ORDER].sort());
  assert.deepEqual(c.consistent(), [`${TypeUrl.ClusterLoadAssignment}/c2`], 'checked like any snapshot');
  const cache = new SnapshotCache();
  const answer = (s: Snapshot) => cache.sotwAnswer(s, TypeUrl.Cluster, [], '');
  assert.equal(answer(c), answer(a), 'answers are shared with the source');
  const partial = Snapshot.compose([[TypeUrl.Cluster, a]]);
  assert.deepEqual(partial.types(), [TypeUrl.Cluster], 'types not named are not served');
  assert.equal(partial.version(TypeUrl.Listener), '');
  const unserved = Snapshot.compose([[TypeUrl.Secret, a]]);
  assert.deepEqual(unserved.types(), [], 'a type its source does not serve is not served');
});

test('cache: watches park until their answer changes; equal snapshots wake nobody', () => {
  const cache = new SnapshotCache();
  const statuses: NodeStatus[] = [];
  cache.onStatus((s) => statuses.push(s));
  const got: SotwResponse[] = [];
  const cancel1 = cache.watch('n', TypeUrl.ClusterLoadAssignment, ['c1'], '', (r) => got.push(r));
  assert.equal(got.length, 0, 'no snapshot yet: parked');
  assert.deepEqual(
    cache.nodes().map((s) => [s.nodeId, s.watches]),
    [['n', 1]],
  );

  const s1 = new Snapshot([endpoints('c1', 1), endpoints('c2', 1)]);
  cache.setSnapshot('n', s1);
  assert.deepEqual(
    got.map((r) => r.resources.map((x) => x.name)),
    [['c1']],
  );
  const known = got[0]!.version;
  cancel1();
  assert.deepEqual(
    statuses.map((s) => s.watches),
    [1, 0],
  );

  const cancel2 = cache.watch('n', TypeUrl.ClusterLoadAssignment, ['c1'], known, (r) => got.push(r));
  cache.setSnapshot('n', s1);
  cache.setSnapshot('n', new Snapshot([endpoints('c1', 1), endpoints('c2', 1)]));
  cache.setSnapshot('n', new Snapshot([endpoints('c1', 1), endpoints('c2', 2)]));
  assert.equal(got.length, 1, 'a change to an unwatched name does not wake a named watch');
  cache.setSnapshot('n', new Snapshot([endpoints('c1', 2), endpoints('c2', 2)]));
  assert.equal(got.length, 2);
  assert.notEqual(got[1]!.version, known);
  cancel2();

  assert.deepEqual(
    cache.fetch('n', TypeUrl.ClusterLoadAssignment, [])?.resources.map((x) => x.name),
    ['c1', 'c2'],
  );
  cache.clearSnapshot('n');
  assert.equal(cache.fetch('n', TypeUrl.ClusterLoadAssignment, []), undefined);
});
