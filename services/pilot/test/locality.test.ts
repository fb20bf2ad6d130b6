// Locality load balancing on EDS output (the e2e test checks a real client follows it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildClusters } from '../src/generate/clusters.js';
import { buildEndpoints } from '../src/generate/endpoints.js';
import { localityMatch } from '../src/generate/locality-lb.js';
import { buildPushContext } from '../src/model/push-context.js';
import type { LocalityLbSetting } from '../src/model/types.js';
import { proxyFor, snapshotOf, toConfigEntries } from './fixtures/index.js';

const HOST = 'svc.mesh.local';
const CLUSTER = `outbound|80||${HOST}`;
const LOCALITIES = ['r1/z1/s1', 'r1/z1/s2', 'r1/z2/s1', 'r2/z1/s1', 'r3/z1/s1'];

let lastCluster: Record<string, any> | undefined;

function eds(opts: { mesh?: LocalityLbSetting; drLb?: object; outlier?: boolean; locality?: object }) {
  const objects = [
    {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'ServiceEntry',
      metadata: { name: 'svc', namespace: 'default' },
      spec: {
        hosts: [HOST],
        location: 'MESH_INTERNAL',
        resolution: 'STATIC',
        ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
        endpoints: LOCALITIES.map((locality, i) => ({ address: `10.9.0.${i + 1}`, locality })),
      },
    },
    {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'DestinationRule',
      metadata: { name: 'svc', namespace: 'default' },
      spec: {
        host: HOST,
        trafficPolicy: {
          connectionPool: { tcp: { maxConnections: 100 } },
          ...(opts.outlier === false ? {} : { outlierDetection: { consecutiveErrors: 5 } }),
          ...(opts.drLb ? { loadBalancer: opts.drLb } : {}),
        },
      },
    },
  ];
  const push = buildPushContext(
    snapshotOf(toConfigEntries(objects), opts.mesh ? { localityLbSetting: opts.mesh } : {}),
  );
  const proxy = proxyFor(push, {
    id: 'sidecar~10.9.1.1~client.default~default.svc.cluster.local',
    metadata: { NAMESPACE: 'default' },
    locality: (opts.locality ?? { region: 'r1', zone: 'z1', sub_zone: 's1' }) as any,
  });
  const [cla] = buildEndpoints(push, proxy, [CLUSTER]);
  lastCluster = buildClusters(push, proxy).find((c) => c.name === CLUSTER);
  return (cla!.endpoints as any[]).map((g) => ({
    l: [g.locality.region, g.locality.zone, g.locality.sub_zone].join('/'),
    p: g.priority ?? 0,
    w: g.load_balancing_weight.value,
  }));
}

describe('localityLbSetting', () => {
  it('failover priorities: subzone, zone, region, other regions; no gaps', () => {
    assert.deepEqual(
      eds({ mesh: {} }).map((g) => [g.l, g.p]),
      [
        ['r1/z1/s1', 0],
        ['r1/z1/s2', 1],
        ['r1/z2/s1', 2],
        ['r2/z1/s1', 3],
        ['r3/z1/s1', 3],
      ],
    );
  });

  it('a failover rule puts its `to` region before the other regions', () => {
    const got = eds({ mesh: { failover: [{ from: 'r1', to: 'r3' }] } });
    assert.deepEqual(
      got.map((g) => [g.l, g.p]),
      [
        ['r1/z1/s1', 0],
        ['r1/z1/s2', 1],
        ['r1/z2/s1', 2],
        ['r2/z1/s1', 4],
        ['r3/z1/s1', 3],
      ],
    );
  });

  it('no outlier detection, no locality or setting disabled: no priorities', () => {
    assert.ok(eds({ mesh: {}, outlier: false }).every((g) => g.p === 0));
    assert.ok(eds({ mesh: {}, locality: {} }).every((g) => g.p === 0));
    assert.ok(eds({ mesh: { enabled: false } }).every((g) => g.p === 0));
    assert.ok(eds({}).every((g) => g.p === 0));
  });

  it('distribute: weights from the first matching rule (split over wildcard matches), other localities out', () => {
    const got = eds({
      mesh: { distribute: [{ from: 'r1/z1/*', to: { 'r1/z1/*': 70, 'r2/*': 30 } }] },
    });
    assert.deepEqual(got, [
      { l: 'r1/z1/s1', p: 0, w: 35 },
      { l: 'r1/z1/s2', p: 0, w: 35 },
      { l: 'r2/z1/s1', p: 0, w: 30 },
    ]);
    // Envoy weighs localities only when the cluster says so.
    assert.deepEqual(lastCluster?.common_lb_config?.locality_weighted_lb_config, {});
    assert.equal(eds({ mesh: {} }).length, 5);
    assert.equal(lastCluster?.common_lb_config?.locality_weighted_lb_config, undefined);
    // A proxy no rule names keeps every locality at its own weight.
    assert.equal(eds({ mesh: { distribute: [{ from: 'r9/*', to: { 'r2/*': 100 } }] } }).length, 5);
  });

  it("the DestinationRule's setting wins over the mesh's", () => {
    const got = eds({
      mesh: { failover: [] },
      drLb: { localityLbSetting: { distribute: [{ from: 'r1/*', to: { 'r3/*': 100 } }] } },
    });
    assert.deepEqual(got, [{ l: 'r3/z1/s1', p: 0, w: 100 }]);
  });

  it('locality match: parts and `*`', () => {
    const l = { region: 'r1', zone: 'z1', subzone: 's1' };
    assert.ok(localityMatch(l, 'r1'));
    assert.ok(localityMatch(l, 'r1/*'));
    assert.ok(localityMatch(l, 'r1/z1/s1'));
    assert.ok(localityMatch(l, '*'));
    assert.ok(!localityMatch(l, 'r1/z2'));
    assert.ok(!localityMatch(l, ''));
  });
});
