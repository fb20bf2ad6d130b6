import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { kinds } from '@keel/config';
import { type KubeTestServer, startKubeTestServer } from '@keel/kube';
import { unpackStruct } from '@keel/proto';
import { silentLogger } from '@keel/runtime';
import { withTimeout } from '@keel/testing';
import { createGalley, type Galley } from '../src/index.js';
import { recordingSink } from './harness.js';

const VS = 'istio/networking/v1alpha3/virtualservices';
const SERVICES = 'k8s/core/v1/services';

function vsObject(name: string, host: string) {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'VirtualService',
    metadata: { name, namespace: 'default' },
    spec: { hosts: [host], http: [{ route: [{ destination: { host } }] }] },
  };
}

describe('galley in Kubernetes mode (list/watch test server)', () => {
  let kube: KubeTestServer;
  let galley: Galley;
  let address: string;

  before(async () => {
    kube = await startKubeTestServer();
    for (const k of kinds) {
      if (k.group === '') continue;
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
      spec: { clusterIP: '10.0.0.1', ports: [{ name: 'http', port: 9080 }], selector: { app: 'reviews' } },
    });
    kube.apply(vsObject('reviews', 'reviews'));
    kube.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'istio', namespace: 'istio-system' },
      data: { mesh: 'rootNamespace: istio-config\n' },
    });
    galley = createGalley({
      kubeConfig: kube.kubeConfig(),
      host: '127.0.0.1',
      mcpPort: 0,
      monitoringPort: 0,
      debounceQuietMs: 50,
      debounceMaxMs: 200,
      logger: silentLogger,
    });
    address = `127.0.0.1:${(await galley.start()).mcpPort}`;
  });
  after(async () => {
    await galley.stop();
    await kube.close();
  });

  it('serves objects listed from the API server, and the mesh ConfigMap', async () => {
    const rec = recordingSink(address, [VS, SERVICES, 'istio/mesh/v1alpha1/MeshConfig']);
    rec.sink.start();
    await withTimeout(rec.sink.whenSynced(), 5000, 'sync');
    assert.ok(rec.sink.state(SERVICES).has('default/reviews'));
    assert.ok(rec.sink.state(VS).has('default/reviews'));
    const mesh = [...rec.sink.state('istio/mesh/v1alpha1/MeshConfig').values()][0]!;
    assert.equal(unpackStruct(mesh.body).rootNamespace, 'istio-config');
    await rec.sink.stop();
  });

  it('follows watch events, rejects invalid objects and keeps the last good version', async () => {
    const rec = recordingSink(address, [VS]);
    rec.sink.start();
    await withTimeout(rec.sink.whenSynced(), 5000, 'sync');
    kube.apply(vsObject('ratings', 'ratings'));
    await rec.waitUpdate(
      (u) => u.resources.some((r) => r.metadata.name === 'default/ratings'),
      3000,
      'added VS',
    );
    const before = rec.sink.state(VS).get('default/ratings')!.metadata.version;
    kube.apply(vsObject('ratings', 'bad!host'));
    kube.apply(vsObject('marker', 'details'));
    await rec.waitUpdate(
      (u) => u.resources.some((r) => r.metadata.name === 'default/marker'),
      3000,
      'later VS',
    );
    assert.equal(
      rec.sink.state(VS).get('default/ratings')!.metadata.version,
      before,
      'invalid update not served',
    );
    await rec.sink.stop();
  });

  it('survives a dropped watch without losing events', async () => {
    const rec = recordingSink(address, [VS]);
    rec.sink.start();
    await withTimeout(rec.sink.whenSynced(), 5000, 'sync');
    kube.dropWatches();
    kube.apply(vsObject('after-drop', 'details'));
    await rec.waitUpdate(
      (u) => u.resources.some((r) => r.metadata.name === 'default/after-drop'),
      5000,
      'event after drop',
    );
    await rec.sink.stop();
  });

  it('re-lists after 410 Gone and converges, including a delete missed while disconnected', async () => {
    const rec = recordingSink(address, [VS]);
    rec.sink.start();
    await withTimeout(rec.sink.whenSynced(), 5000, 'sync');
    assert.ok(rec.sink.state(VS).has('default/marker'));
    kube.compactHistory();
    kube.dropWatches();
    kube.remove(vsObject('marker', 'details'));
    kube.apply(vsObject('after-gone', 'ratings'));
    kube.compactHistory();
    await rec.waitUpdate(
      (u) =>
        u.resources.some((r) => r.metadata.name === 'default/after-gone') &&
        !u.resources.some((r) => r.metadata.name === 'default/marker'),
      8000,
      'converged after 410',
    );
    assert.ok(
      kube.requests.some(
        (r) => r.method === 'GET' && r.path.includes('virtualservices') && !r.path.includes('watch'),
      ),
    );
    await rec.sink.stop();
  });
});
