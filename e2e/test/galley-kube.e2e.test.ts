// A real galley process in Kubernetes mode, reading the list/watch test server through a kubeconfig
// file: it follows watch events, a dropped watch and a 410 Gone re-list.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kinds } from '@keel/config';
import { type KubeTestServer, startKubeTestServer } from '@keel/kube';
import { tempDir, withTimeout } from '@keel/testing';
import { type GalleyProcess, recordingSink, startGalley } from '../src/index.js';

const VS = 'istio/networking/v1alpha3/virtualservices';
const SERVICES = 'k8s/core/v1/services';

function vs(name: string, host: string) {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'VirtualService',
    metadata: { name, namespace: 'default' },
    spec: { hosts: [host], http: [{ route: [{ destination: { host } }] }] },
  };
}

describe('galley process in Kubernetes mode (kubeconfig -> list/watch test server)', () => {
  let kube: KubeTestServer;
  let dir: { path: string; cleanup(): Promise<void> };
  let galley: GalleyProcess;
  let mcp: ReturnType<typeof recordingSink>;

  before(async () => {
    kube = await startKubeTestServer();
    for (const k of kinds) {
      if (k.group !== '')
        kube.registerKind({
          group: k.group,
          version: k.version,
          kind: k.kind,
          plural: k.plural,
          namespaced: !k.clusterScoped,
        });
    }
    kube.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'reviews', namespace: 'default' },
      spec: { ports: [{ name: 'http', port: 9080 }] },
    });
    kube.apply(vs('reviews', 'reviews'));
    dir = await tempDir('e2e-galley-kube');
    const kubeconfig = path.join(dir.path, 'kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server: kube.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'test', user: {} }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'test' } }],
        'current-context': 'test',
      }),
    );
    galley = await startGalley({
      kubeconfig,
      extraArgs: ['--debounce-quiet', '50ms', '--debounce-max', '200ms'],
    });
    mcp = recordingSink(galley.mcpAddress, [VS, SERVICES]);
    mcp.sink.start();
    await withTimeout(mcp.sink.whenSynced(), 10_000, 'sink synced');
  });

  after(async () => {
    await mcp?.sink.stop();
    await galley?.stop();
    await kube?.close();
    await dir?.cleanup();
  });

  it('serves what the API server lists', () => {
    assert.ok(mcp.sink.state(SERVICES).has('default/reviews'));
    assert.ok(mcp.sink.state(VS).has('default/reviews'));
  });

  it('follows a watch event, then a dropped watch', async () => {
    kube.apply(vs('ratings', 'ratings'));
    await mcp.updates.next(
      (u) => u.resources.some((r) => r.metadata.name === 'default/ratings'),
      'watch event',
      5000,
    );
    kube.dropWatches();
    kube.apply(vs('after-drop', 'details'));
    await mcp.updates.next(
      (u) => u.resources.some((r) => r.metadata.name === 'default/after-drop'),
      'event after a dropped watch',
      8000,
    );
  });

  it('re-lists after 410 Gone and converges, including a delete it missed', async () => {
    kube.compactHistory();
    kube.dropWatches();
    kube.remove(vs('ratings', 'ratings'));
    kube.apply(vs('after-gone', 'ratings'));
    kube.compactHistory();
    await mcp.updates.next(
      (u) =>
        u.collection === VS &&
        u.resources.some((r) => r.metadata.name === 'default/after-gone') &&
        !u.resources.some((r) => r.metadata.name === 'default/ratings'),
      'converged after 410 Gone',
      10_000,
    );
  });
});
