// Durations: every accepted spelling gives the same Envoy duration wherever Istio 1.4 takes one,
// through the production path (Galley validation, MCP Struct, Pilot); invalid ones are rejected
// at validation with Istio's message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMeshConfig, toResource, validateResource } from '@keel/config';
import { packStruct, unpackStruct } from '@keel/proto';
import { generateProxyResources } from '../src/generate/index.js';
import { buildPushContext } from '../src/model/push-context.js';
import { meshViewOf } from '../src/server/config-store.js';
import {
  BOOKINFO_YAML,
  podEntry,
  proxyFor,
  readObjects,
  runCluster,
  sidecarNode,
  snapshotOf,
  toConfigEntries,
} from './fixtures/index.js';

const SPELLINGS: Array<[string, { seconds: number; nanos: number }]> = [
  ['1m30s', { seconds: 90, nanos: 0 }],
  ['90s', { seconds: 90, nanos: 0 }],
  ['1.5s', { seconds: 1, nanos: 500_000_000 }],
  ['500ms', { seconds: 0, nanos: 500_000_000 }],
  ['1h', { seconds: 3600, nanos: 0 }],
];

function config(d: string) {
  return [
    {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'default' },
      spec: {
        hosts: ['reviews'],
        http: [
          {
            timeout: d,
            retries: { attempts: 2, perTryTimeout: d },
            fault: { delay: { fixedDelay: d, percentage: { value: 1 } } },
            route: [{ destination: { host: 'reviews' } }],
          },
        ],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'DestinationRule',
      metadata: { name: 'reviews', namespace: 'default' },
      spec: {
        host: 'reviews',
        trafficPolicy: {
          connectionPool: { tcp: { connectTimeout: d } },
          outlierDetection: { interval: d, baseEjectionTime: d },
        },
      },
    },
  ];
}

/** Every value under `key` anywhere in `v`. */
function valuesOf(v: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) for (const x of v) valuesOf(x, key, out);
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === key) out.push(x);
      valuesOf(x, key, out);
    }
  }
  return out;
}

function generate(d: string) {
  const mesh = parseMeshConfig(`connectTimeout: ${d}\n`);
  assert.ok(mesh.ok, JSON.stringify(mesh));
  // The mesh config travels as Galley serves it: a Struct over MCP, read by Pilot's config store.
  const view = meshViewOf(unpackStruct(packStruct(mesh.value as Record<string, unknown>)));
  const objects = [...runCluster(readObjects([BOOKINFO_YAML])), ...config(d)];
  const store = snapshotOf(toConfigEntries(objects), view);
  const push = buildPushContext(store);
  return generateProxyResources(push, proxyFor(push, sidecarNode(podEntry(store, 'productpage-v1-0'))));
}

describe('durations: the same Envoy duration for every spelling, everywhere', () => {
  for (const [text, want] of SPELLINGS) {
    it(text, () => {
      const res = generate(text);
      const cluster = (name: string) => res.clusters.find((c) => c.name === name) as Record<string, any>;
      const reviews = cluster('outbound|9080||reviews.default.svc.cluster.local');
      const ratings = cluster('outbound|9080||ratings.default.svc.cluster.local');
      assert.deepEqual(reviews.connect_timeout, want, 'DestinationRule tcp.connectTimeout');
      assert.deepEqual(reviews.outlier_detection.interval, want, 'outlierDetection.interval');
      assert.deepEqual(
        reviews.outlier_detection.base_ejection_time,
        want,
        'outlierDetection.baseEjectionTime',
      );
      assert.deepEqual(ratings.connect_timeout, want, 'mesh connectTimeout');
      const route = valuesOf(res.routes, 'routes')
        .flat()
        .find((r: any) => r.route?.cluster === 'outbound|9080||reviews.default.svc.cluster.local') as any;
      assert.ok(route, 'the reviews route');
      assert.deepEqual(route.route.timeout, want, 'route timeout');
      assert.deepEqual(route.route.retry_policy.per_try_timeout, want, 'retries.perTryTimeout');
      assert.deepEqual(valuesOf(route, 'fixed_delay'), [want], 'fault delay');
    });
  }
});

describe('invalid durations are rejected at validation with Istio 1.4 messages', () => {
  const cases: Array<[string, string]> = [
    ['1x', 'bad Duration: time: unknown unit x in duration 1x'],
    ['5', 'bad Duration: time: missing unit in duration 5'],
    ['1.5', 'bad Duration: time: missing unit in duration 1.5'],
    ['s', 'bad Duration: time: invalid duration s'],
    ['1m30', 'bad Duration: time: missing unit in duration 1m30'],
    ['2s1ns', 'only durations to ms precision are supported'],
    ['0s', 'duration must be greater than 1ms'],
  ];
  for (const [text, message] of cases) {
    it(`${text}: ${message}`, () => {
      for (const obj of config(text)) {
        const parsed = toResource(obj);
        assert.ok('resource' in parsed);
        const r = validateResource(parsed.resource);
        assert.equal(r.ok, false);
        if (r.ok) return;
        assert.ok(
          r.errors.length > 0 && r.errors.every((e) => e.message === message),
          JSON.stringify(r.errors),
        );
      }
    });
  }
  it('mesh config connectTimeout', () => {
    const r = parseMeshConfig('connectTimeout: 1x\n');
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.errors[0]?.message, 'bad Duration: time: unknown unit x in duration 1x');
  });
});
