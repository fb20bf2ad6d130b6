// Full xDS output goldens for bookinfo: the platform alone and with each networking sample, for a
// sidecar in `default` (productpage-v1) and for the ingress gateway. Compared strictly as proto-JSON;
// regenerate deliberately with KEEL_UPDATE_GOLDEN=1.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { toProtoJson } from '@keel/proto';
import { sharedTestdata } from '@keel/testing';
import { checkResources, generateProxyResources, TYPES } from '../src/generate/index.js';
import { buildPushContext } from '../src/model/push-context.js';
import type { ProxyResources } from '../src/model/types.js';
import {
  bookinfoNetworking,
  makeBookinfoMesh,
  podEntry,
  proxyFor,
  routerNode,
  sidecarNode,
} from './fixtures/index.js';
import { expectGolden } from './golden.js';

const SAMPLES = readdirSync(sharedTestdata('samples', 'bookinfo', 'networking'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function protoJson(res: ProxyResources): Record<string, unknown[]> {
  return {
    clusters: res.clusters.map((c) => toProtoJson(TYPES.cluster, c) as unknown),
    endpoints: res.endpoints.map((e) => toProtoJson(TYPES.endpoint, e) as unknown),
    listeners: res.listeners.map((l) => toProtoJson(TYPES.listener, l) as unknown),
    routes: res.routes.map((r) => toProtoJson(TYPES.route, r) as unknown),
  };
}

describe('bookinfo goldens (sidecar productpage-v1 in default, ingress gateway)', () => {
  for (const sample of ['', ...SAMPLES]) {
    const label = sample === '' ? 'platform' : sample.replace(/\.yaml$/, '');
    it(label, () => {
      const store = makeBookinfoMesh(sample === '' ? [] : [bookinfoNetworking(sample)]);
      const push = buildPushContext(store);
      const sidecar = generateProxyResources(
        push,
        proxyFor(push, sidecarNode(podEntry(store, 'productpage-v1-0'))),
      );
      const gateway = generateProxyResources(push, proxyFor(push, routerNode({ ip: '10.40.1.1' })));
      for (const res of [sidecar, gateway]) assert.deepEqual(checkResources(res), []);
      expectGolden(`bookinfo/${label}.sidecar`, protoJson(sidecar));
      expectGolden(`bookinfo/${label}.gateway`, protoJson(gateway));
    });
  }
});
