import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, test } from 'node:test';
import { withTimeout } from '@keel/testing';
import { type KubeTestServer, kubeRequest, startKubeTestServer } from '../src/index.js';
import { service } from './helpers.js';

let s: KubeTestServer;
before(async () => {
  s = await startKubeTestServer({
    kinds: [
      {
        group: 'rbac.istio.io',
        version: 'v1alpha1',
        kind: 'ClusterRbacConfig',
        plural: 'clusterrbacconfigs',
        namespaced: false,
      },
    ],
  });
});
after(() => s.close());

const call = (
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  contentType?: string,
) => kubeRequest(s.kubeConfig(), { method, path, body, contentType });

/** Reads watch lines until the response ends. */
function readWatch(path: string): Promise<{ status: number; lines: { type: string; object: any }[] }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      get(s.url + path, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString('utf8');
        });
        res.on('end', () => {
          const lines = text
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l));
          resolve({ status: res.statusCode ?? 0, lines });
        });
      }).on('error', reject);
    }),
    5000,
    `watch ${path}`,
  );
}

test('list responses carry kind List, a growing resourceVersion, and filter by namespace', async () => {
  const a = s.apply(service('lst-a', 'ns1'));
  const b = s.apply(service('lst-b', 'ns2'));
  assert.ok(Number(b.metadata!.resourceVersion) > Number(a.metadata!.resourceVersion));
  assert.ok(a.metadata!.uid && a.metadata!.creationTimestamp);
  const all = (await call('GET', '/api/v1/services')).body as any;
  assert.equal(all.kind, 'ServiceList');
  assert.equal(all.apiVersion, 'v1');
  assert.equal(all.metadata.resourceVersion, b.metadata!.resourceVersion);
  const ns1 = (await call('GET', '/api/v1/namespaces/ns1/services')).body as any;
  assert.deepEqual(
    ns1.items.map((i: any) => i.metadata.name),
    ['lst-a'],
  );
  const labelled = (await call('GET', '/api/v1/services?labelSelector=app%3Dlst-b')).body as any;
  assert.deepEqual(
    labelled.items.map((i: any) => i.metadata.name),
    ['lst-b'],
  );
});

test('cluster-scoped kinds: namespaces, nodes and a registered Istio CRD', async () => {
  s.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bookinfo', namespace: 'ignored' } });
  s.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } });
  s.apply({ apiVersion: 'rbac.istio.io/v1alpha1', kind: 'ClusterRbacConfig', metadata: { name: 'default' } });
  const ns = await call('GET', '/api/v1/namespaces/bookinfo');
  assert.equal(ns.status, 200);
  assert.equal((ns.body as any).metadata.namespace, undefined);
  assert.equal(((await call('GET', '/api/v1/nodes')).body as any).items[0].metadata.name, 'node-1');
  const rbac = (await call('GET', '/apis/rbac.istio.io/v1alpha1/clusterrbacconfigs')).body as any;
  assert.equal(rbac.kind, 'ClusterRbacConfigList');
  assert.equal(rbac.items.length, 1);
  assert.equal(
    (await call('GET', '/apis/rbac.istio.io/v1alpha1/namespaces/x/clusterrbacconfigs')).status,
    404,
  );
  assert.equal((await call('GET', '/apis/unknown.io/v1/things')).status, 404);
});

test('writes: POST 201/409, GET 404/200, PUT compare-and-set, PATCH merge and JSON Patch, DELETE', async () => {
  const base = '/api/v1/namespaces/w/configmaps';
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mesh' }, data: { a: '1', b: '2' } };
  assert.equal((await call('GET', `${base}/mesh`)).status, 404);
  const created = await call('POST', base, cm);
  assert.equal(created.status, 201);
  assert.equal((created.body as any).metadata.namespace, 'w');
  assert.equal((await call('POST', base, cm)).status, 409);
  const rv = (created.body as any).metadata.resourceVersion as string;
  const put = await call('PUT', `${base}/mesh`, {
    ...cm,
    metadata: { name: 'mesh', resourceVersion: rv },
    data: { a: 'x' },
  });
  assert.equal(put.status, 200);
  assert.equal((put.body as any).metadata.uid, (created.body as any).metadata.uid);
  const stale = await call('PUT', `${base}/mesh`, { ...cm, metadata: { name: 'mesh', resourceVersion: rv } });
  assert.equal(stale.status, 409);
  assert.equal((stale.body as any).reason, 'Conflict');
  const patched = await call(
    'PATCH',
    `${base}/mesh`,
    { data: { a: null, c: '3' } },
    'application/merge-patch+json',
  );
  assert.deepEqual((patched.body as any).data, { c: '3' });
  const jsonPatched = await call(
    'PATCH',
    `${base}/mesh`,
    [{ op: 'add', path: '/data/d', value: '4' }],
    'application/json-patch+json',
  );
  assert.deepEqual((jsonPatched.body as any).data, { c: '3', d: '4' });
  assert.equal((await call('PATCH', `${base}/mesh`, {}, 'application/apply-patch+yaml')).status, 415);
  assert.equal((await call('DELETE', `${base}/mesh`)).status, 200);
  assert.equal((await call('GET', `${base}/mesh`)).status, 404);
});

test('watch replays after resourceVersion N and answers 410 Expired for compacted history', async () => {
  const first = s.apply(service('w-a', 'watch'));
  s.apply(service('w-b', 'watch'));
  s.remove(service('w-a', 'watch'));
  const rv = first.metadata!.resourceVersion;
  const watching = readWatch(
    `/api/v1/namespaces/watch/services?watch=1&resourceVersion=${rv}&timeoutSeconds=1`,
  );
  const replay = await watching;
  assert.equal(replay.status, 200);
  assert.deepEqual(
    replay.lines.map((l) => `${l.type}:${l.object.metadata.name}`),
    ['ADDED:w-b', 'DELETED:w-a'],
  );
  s.compactHistory();
  const gone = await readWatch(`/api/v1/namespaces/watch/services?watch=true&resourceVersion=${rv}`);
  assert.equal(gone.status, 200);
  assert.equal(gone.lines.length, 1);
  assert.equal(gone.lines[0]!.type, 'ERROR');
  assert.deepEqual(
    {
      kind: gone.lines[0]!.object.kind,
      code: gone.lines[0]!.object.code,
      reason: gone.lines[0]!.object.reason,
    },
    { kind: 'Status', code: 410, reason: 'Expired' },
  );
  assert.ok(s.requests.some((r) => r.query.watch === 'true' && r.query.resourceVersion === rv));
});
