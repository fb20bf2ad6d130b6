import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { sharedTestdata } from '@keel/testing';
import { checkResources, generateProxyResources } from '../src/generate/index.js';
import { buildPushContext } from '../src/model/push-context.js';
import {
  bookinfoNetworking,
  grpcNode,
  loadMesh,
  loadStore,
  makeBookinfoMesh,
  podEntry,
  proxyFor,
  routerNode,
  sidecarNode,
} from './fixtures/index.js';
import { nsScope } from './listener-util.js';

const SAMPLES = readdirSync(sharedTestdata('samples', 'bookinfo', 'networking'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const PODS = ['productpage-v1-0', 'reviews-v2-0', 'ratings-v1-0'];

describe('generateProxyResources + checkResources', () => {
  it('bookinfo: every sample file (alone and with destination-rule-all-mtls) is consistent for sidecars, a gateway and gRPC', () => {
    let checked = 0;
    for (const file of SAMPLES) {
      for (const combo of [[file], ['destination-rule-all-mtls.yaml', file]]) {
        const store = makeBookinfoMesh(combo.map(bookinfoNetworking));
        const push = buildPushContext(store);
        const nodes = [
          ...PODS.map((p) => sidecarNode(podEntry(store, p))),
          routerNode({ ip: '10.1.0.1' }),
          grpcNode(podEntry(store, 'productpage-v1-0')),
        ];
        for (const node of nodes) {
          const proxy = proxyFor(push, node);
          const res = generateProxyResources(push, proxy);
          // gRPC clients get the forms they accept, deprecated or not (model/client.ts).
          assert.deepEqual(checkResources(res, proxy.generator), [], `${combo.join('+')} ${node.id}`);
          assert.ok(res.clusters.length > 0);
          if (node.id.startsWith('sidecar') && !node.metadata?.GENERATOR)
            assert.ok(res.listeners.length >= 4);
          checked++;
        }
      }
    }
    assert.equal(checked, SAMPLES.length * 2 * 5);
  });

  it('sidecar-ns-scope: 7 listeners, 11 clusters, RDS "8080" with 3 virtual hosts, consistent', () => {
    const { push, proxy } = nsScope();
    const res = generateProxyResources(push, proxy);
    assert.deepEqual(checkResources(res), []);
    assert.equal(res.listeners.length, 7);
    assert.equal(res.clusters.length, 11);
    const rc = res.routes.find((r) => r.name === '8080') as Record<string, any>;
    assert.equal(rc.virtual_hosts.length, 3);
  });

  it('ingress-gateway (router 99.1.1.1): 2 listeners, consistent', () => {
    const dir = ['tests', 'testdata', 'networking', 'ingress-gateway'];
    const store = loadStore(
      [sharedTestdata(...dir, 'configs.yaml')],
      loadMesh(sharedTestdata(...dir, 'mesh.yaml')),
    );
    const push = buildPushContext(store);
    const res = generateProxyResources(push, proxyFor(push, routerNode({ ip: '99.1.1.1' })));
    assert.deepEqual(checkResources(res), []);
    assert.deepEqual(res.listeners.map((l) => l.name).sort(), ['0.0.0.0_443', '0.0.0.0_80']);
  });

  it('checkResources reports a missing route and a missing assignment', () => {
    const { push, proxy } = nsScope();
    const res = generateProxyResources(push, proxy);
    const broken = {
      ...res,
      routes: res.routes.filter((r) => r.name !== '8080'),
      endpoints: res.endpoints.slice(1),
    };
    const errors = checkResources(broken);
    assert.ok(errors.some((e) => e.includes('"8080"')));
    assert.ok(errors.some((e) => e.includes('has no ClusterLoadAssignment')));
  });
});
