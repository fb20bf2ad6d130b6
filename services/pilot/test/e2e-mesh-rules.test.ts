// Every resource Pilot generates for the e2e mesh (deploy/local: the config the e2e tests and
// `npm start` run) passes the Envoy-rules check, with no deprecated field for Envoy proxies and
// nothing repaired or left out. Through the production path (Galley validation, MCP Struct).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { parseMeshConfig } from '@keel/config';
import { packStruct, unpackStruct } from '@keel/proto';
import { repoRoot } from '@keel/testing';
import {
  checkResources,
  type EnvoyRuleRejection,
  generateProxyResources,
  newEnvoyFilterStats,
  newListenerStats,
} from '../src/generate/index.js';
import { buildPushContext } from '../src/model/push-context.js';
import { meshViewOf } from '../src/server/config-store.js';
import {
  grpcNode,
  proxyFor,
  readObjects,
  routerNode,
  sidecarNode,
  snapshotOf,
  toConfigEntries,
} from './fixtures/index.js';

const LOCAL = path.join(repoRoot(), 'deploy', 'local');

it('every proxy of the e2e mesh gets resources Envoy accepts, nothing repaired', () => {
  const mesh = parseMeshConfig(readFileSync(path.join(LOCAL, 'mesh.yaml'), 'utf8'));
  assert.ok(mesh.ok);
  const files = readdirSync(path.join(LOCAL, 'config'))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(LOCAL, 'config', f));
  const store = snapshotOf(
    toConfigEntries(readObjects(files)),
    meshViewOf(unpackStruct(packStruct(mesh.value as Record<string, unknown>))),
  );
  const push = buildPushContext(store);
  const pods = store.byKind.get('Pod') ?? [];
  assert.ok(pods.length > 0);
  const nodes = [
    ...pods.map((p) => ({ node: sidecarNode(p), generator: 'envoy' as const })),
    ...pods.map((p) => ({ node: grpcNode(p), generator: 'grpc' as const })),
    { node: routerNode({ ip: '127.0.2.1' }), generator: 'envoy' as const },
  ];
  for (const { node, generator } of nodes) {
    const rejected: EnvoyRuleRejection[] = [];
    const stats = { listeners: newListenerStats(), envoyFilters: newEnvoyFilterStats(), rejected };
    const res = generateProxyResources(push, proxyFor(push, node), stats);
    assert.deepEqual(checkResources(res, generator), [], node.id);
    assert.deepEqual(rejected, [], node.id);
  }
});
