import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toProtoJson } from '@keel/proto';
import {
  checkResources,
  generateProxyResources,
  newEnvoyFilterStats,
  newListenerStats,
} from '../src/generate/index.js';
import { expectGolden } from './golden.js';
import { bookinfoProductpage, type L, LISTENER } from './listener-util.js';

const HCM_URL =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function envoyFilter(name: string, spec: Record<string, unknown>, namespace = 'default') {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name, namespace },
    spec,
  };
}

function generate(filters: object[]) {
  const { push, proxy } = bookinfoProductpage([], {}, {}, filters);
  const efStats = newEnvoyFilterStats();
  const res = generateProxyResources(push, proxy, { listeners: newListenerStats(), envoyFilters: efStats });
  assert.deepEqual(checkResources(res), []);
  return { res, proxy, stats: efStats };
}

const listener = (res: { listeners: L[] }, name: string): L => {
  const l = res.listeners.find((x) => x.name === name);
  assert.ok(l, `no listener ${name}`);
  return toProtoJson(LISTENER, l) as L;
};
const hcm = (l: L): L =>
  l.filterChains[0].filters.find((f: L) => f.name === 'envoy.filters.network.http_connection_manager')
    .typedConfig;

describe('EnvoyFilter configPatches', () => {
  it('MERGE into the outbound HCM (camelCase value), INSERT_BEFORE router with v2 names', () => {
    const ef = envoyFilter('pp', {
      workloadSelector: { labels: { app: 'productpage' } },
      configPatches: [
        {
          applyTo: 'NETWORK_FILTER',
          match: {
            context: 'SIDECAR_OUTBOUND',
            listener: {
              portNumber: 9080,
              filterChain: { filter: { name: 'envoy.http_connection_manager' } },
            },
          },
          patch: { operation: 'MERGE', value: { typedConfig: { '@type': HCM_URL, xffNumTrustedHops: 2 } } },
        },
        {
          applyTo: 'HTTP_FILTER',
          match: {
            context: 'SIDECAR_INBOUND',
            listener: {
              portNumber: 9080,
              filterChain: {
                filter: { name: 'envoy.http_connection_manager', subFilter: { name: 'envoy.router' } },
              },
            },
          },
          patch: {
            operation: 'INSERT_BEFORE',
            value: { name: 'envoy.fault', config: { maxActiveFaults: { value: 5 } } },
          },
        },
      ],
    });
    const { res, proxy, stats } = generate([ef]);
    assert.deepEqual(stats, { applied: 2, invalid: 0, unsupported: 0 });
    assert.equal(hcm(listener(res, '0.0.0.0_9080')).xffNumTrustedHops, 2);
    const inbound = hcm(listener(res, `${proxy.ip}_9080`)).httpFilters.map((f: L) => f.name);
    assert.deepEqual(inbound, [
      'envoy.filters.http.cors',
      'envoy.filters.http.fault',
      'envoy.filters.http.fault',
      'envoy.filters.http.router',
    ]);
    expectGolden('envoyfilter-inbound-insert-before', hcm(listener(res, `${proxy.ip}_9080`)).httpFilters);
  });

  it('CLUSTER REMOVE/ADD and VIRTUAL_HOST ADD; resources stay consistent', () => {
    const ef = envoyFilter(
      'mesh-wide',
      {
        configPatches: [
          {
            applyTo: 'CLUSTER',
            match: { cluster: { service: 'details.default.svc.cluster.local' } },
            patch: { operation: 'REMOVE' },
          },
          {
            applyTo: 'CLUSTER',
            match: { context: 'SIDECAR_OUTBOUND' },
            patch: {
              operation: 'ADD',
              value: { name: 'extra', type: 'STATIC', connectTimeout: { seconds: 1 } },
            },
          },
          {
            applyTo: 'VIRTUAL_HOST',
            match: { routeConfiguration: { portNumber: 9080 } },
            patch: {
              operation: 'ADD',
              value: {
                name: 'added',
                domains: ['added.example.com'],
                routes: [{ match: { prefix: '/' }, directResponse: { status: 418 } }],
              },
            },
          },
        ],
      },
      'istio-system',
    );
    const { res, stats } = generate([ef]);
    assert.equal(stats.applied, 3);
    const names = res.clusters.map((c) => c.name);
    assert.ok(!names.some((n) => String(n).endsWith('|details.default.svc.cluster.local')));
    assert.ok(names.includes('extra'));
    const rc = res.routes.find((r) => r.name === '9080') as L;
    assert.equal(rc.virtual_hosts.at(-1).name, 'added');
  });

  it('REMOVE a listener; an invalid patch is dropped and counted without breaking the rest', () => {
    const ef = envoyFilter('mixed', {
      configPatches: [
        {
          applyTo: 'NETWORK_FILTER',
          match: {
            listener: {
              portNumber: 9080,
              filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager' } },
            },
          },
          patch: { operation: 'MERGE', value: { typedConfig: { '@type': HCM_URL, noSuchField: true } } },
        },
        {
          applyTo: 'HTTP_FILTER',
          match: {
            listener: {
              filterChain: {
                filter: { name: 'envoy.http_connection_manager', subFilter: { name: 'envoy.router' } },
              },
            },
          },
          patch: {
            operation: 'INSERT_BEFORE',
            value: { name: 'envoy.fault', config: { maxActiveFaults: 5 } },
          },
        },
        {
          applyTo: 'LISTENER',
          match: { context: 'SIDECAR_OUTBOUND', listener: { name: 'virtualOutbound' } },
          patch: { operation: 'REMOVE' },
        },
      ],
    });
    const { res, stats } = generate([ef]);
    assert.deepEqual(stats, { applied: 1, invalid: 2, unsupported: 0 });
    assert.ok(!res.listeners.some((l) => l.name === 'virtualOutbound'));
    assert.ok(!JSON.stringify(res.listeners).includes('noSuchField'));
  });

  it('a workloadSelector that does not match leaves resources untouched', () => {
    const base = generate([]).res;
    const ef = envoyFilter('other', {
      workloadSelector: { labels: { app: 'reviews' } },
      configPatches: [{ applyTo: 'LISTENER', match: {}, patch: { operation: 'REMOVE' } }],
    });
    const { res, stats } = generate([ef]);
    assert.equal(stats.applied, 0);
    assert.deepEqual(res.listeners, base.listeners);
  });

  it('deprecated filters[]: known filter inserted FIRST; unknown config type skipped and counted', () => {
    const ef = envoyFilter('legacy', {
      workloadLabels: { app: 'productpage' },
      filters: [
        {
          listenerMatch: { listenerType: 'SIDECAR_INBOUND', portNumber: 9080 },
          insertPosition: { index: 'FIRST' },
          filterType: 'HTTP',
          filterName: 'envoy.cors',
          filterConfig: {},
        },
        {
          listenerMatch: { listenerType: 'SIDECAR_INBOUND' },
          filterType: 'HTTP',
          filterName: 'envoy.lua',
          filterConfig: { inlineCode: '' },
        },
      ],
    });
    const { res, proxy, stats } = generate([ef]);
    assert.equal(stats.unsupported, 1);
    assert.equal(stats.applied, 1);
    const names = hcm(listener(res, `${proxy.ip}_9080`)).httpFilters.map((f: L) => f.name);
    assert.deepEqual(names, [
      'envoy.filters.http.cors',
      'envoy.filters.http.cors',
      'envoy.filters.http.fault',
      'envoy.filters.http.router',
    ]);
  });
});
