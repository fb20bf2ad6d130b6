// Helpers shared by the listener, security, EnvoyFilter and generate tests.
import assert from 'node:assert/strict';
import { findUnknownFields, toProtoJson } from '@keel/proto';
import { sharedTestdata } from '@keel/testing';
import { buildSidecarListeners } from '../src/generate/listeners.js';
import { buildPushContext } from '../src/model/push-context.js';
import type { Proxy as MeshProxy, PushContext } from '../src/model/types.js';
import {
  bookinfoNetworking,
  loadMesh,
  loadStore,
  makeBookinfoMesh,
  podEntry,
  proxyFor,
  sidecarNode,
  snapshotOf,
  toConfigEntry,
} from './fixtures/index.js';

export const LISTENER = 'envoy.config.listener.v3.Listener';
export type L = Record<string, any>;

/** Builds listeners, asserts every one encodes without unknown fields, returns proto-JSON. */
export function listenersJson(push: PushContext, proxy: MeshProxy): L[] {
  return buildSidecarListeners(push, proxy).map((l) => {
    assert.deepEqual(findUnknownFields(LISTENER, l), [], `unknown fields in ${l.name}`);
    return toProtoJson(LISTENER, l) as L;
  });
}

export function bookinfoProductpage(
  files: string[] = [],
  mesh = {},
  metadata: Record<string, unknown> = {},
  extra: object[] = [],
) {
  const base = makeBookinfoMesh(files.map(bookinfoNetworking), mesh);
  const entries = [
    ...[...base.byKind.values()].flat(),
    ...extra.map((o, i) => toConfigEntry(o as any, 1000 + i)),
  ];
  const store = snapshotOf(entries, base.mesh);
  const push = buildPushContext(store);
  const proxy = proxyFor(push, sidecarNode(podEntry(store, 'productpage-v1-0'), { metadata }));
  return { push, proxy };
}

export function nsScope(extraMesh = {}) {
  const dir = sharedTestdata('tests', 'testdata', 'networking', 'sidecar-ns-scope');
  const store = loadStore([`${dir}/configs.yaml`], { ...loadMesh(`${dir}/mesh.yaml`), ...extraMesh });
  const push = buildPushContext(store);
  const proxy = proxyFor(push, {
    id: 'sidecar~100.1.1.2~app.ns1~ns1.svc.cluster.local',
    metadata: { NAMESPACE: 'ns1' },
  });
  return { push, proxy };
}
