import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { createLogger, silentLogger } from '@keel/runtime';
import { withTimeout } from '@keel/testing';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  createInformer,
  type Informer,
  type KubeTestServer,
  kindPath,
  startKubeTestServer,
} from '../src/index.js';
import { eventLog, LogCapture, Recorder, type SeenEvent, seen, service } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function server(port?: number): Promise<KubeTestServer> {
  const s = await startKubeTestServer({ port });
  cleanups.push(() => s.close());
  return s;
}

function informer(
  s: KubeTestServer,
  path: string,
  rec: Recorder<SeenEvent>,
  extra: { logger?: ReturnType<typeof createLogger>; port?: number } = {},
): Informer<KubernetesObject> {
  const inf = createInformer<KubernetesObject>({
    kubeConfig: s.kubeConfig(),
    path,
    logger: extra.logger ?? silentLogger,
    onEvent: (type, obj) => rec.push(seen(type, obj)),
    backoff: { initialMs: 20, maxMs: 200 },
  });
  cleanups.push(() => inf.stop());
  return inf;
}

const names = (inf: Informer<KubernetesObject>) =>
  inf
    .list()
    .map((o) => o.metadata?.name)
    .sort();
const listCalls = (s: KubeTestServer, path: string) =>
  s.requests.filter((r) => r.method === 'GET' && r.path === path && r.query.watch === undefined).length;

test('initial list is delivered as adds, then watch events as add/update/delete', async () => {
  const s = await server();
  s.apply(service('a'));
  s.apply(service('b', 'other'));
  s.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'not-a-service' } });
  const rec = new Recorder<SeenEvent>();
  let syncedCalls = 0;
  const inf = createInformer<KubernetesObject>({
    kubeConfig: s.kubeConfig(),
    path: kindPath({ group: '', version: 'v1', plural: 'services' }),
    logger: silentLogger,
    onEvent: (type, obj) => rec.push(seen(type, obj)),
    onSynced: () => {
      syncedCalls += 1;
    },
  });
  cleanups.push(() => inf.stop());
  assert.equal(inf.synced(), false);
  await withTimeout(inf.start(), 5000, 'initial sync');
  assert.equal(inf.synced(), true);
  assert.equal(syncedCalls, 1);
  assert.deepEqual(eventLog(rec).sort(), ['add:a', 'add:b']);
  assert.deepEqual(names(inf), ['a', 'b']);

  s.apply(service('c'));
  s.apply(service('a', 'default', 'v2'));
  s.remove(service('b', 'other'));
  await rec.until((items) => items.length === 5, 'three watch events');
  assert.deepEqual(eventLog(rec).slice(2), ['add:c', 'update:a', 'delete:b']);
  assert.equal(rec.items[3]!.label, 'v2');
  assert.deepEqual(names(inf), ['a', 'c']);
  assert.equal(syncedCalls, 1);
});

test('a namespaced informer over an Istio CRD path sees only its namespace', async () => {
  const s = await server();
  s.registerKind({
    group: 'networking.istio.io',
    version: 'v1alpha3',
    kind: 'VirtualService',
    plural: 'virtualservices',
    namespaced: true,
  });
  const vs = (name: string, namespace: string) => ({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'VirtualService',
    metadata: { name, namespace },
    spec: { hosts: [name] },
  });
  s.apply(vs('reviews', 'bookinfo'));
  s.apply(vs('ratings', 'elsewhere'));
  const rec = new Recorder<SeenEvent>();
  const path = kindPath({
    group: 'networking.istio.io',
    version: 'v1alpha3',
    plural: 'virtualservices',
    namespace: 'bookinfo',
  });
  assert.equal(path, '/apis/networking.istio.io/v1alpha3/namespaces/bookinfo/virtualservices');
  const inf = informer(s, path, rec);
  await withTimeout(inf.start(), 5000, 'sync');
  s.apply(vs('details', 'elsewhere'));
  s.apply(vs('details', 'bookinfo'));
  await rec.until((items) => items.length === 2, 'add in namespace');
  assert.deepEqual(eventLog(rec), ['add:reviews', 'add:details']);
});

test('a dropped watch resumes from the last resourceVersion: nothing lost, nothing repeated', async () => {
  const s = await server();
  s.apply(service('a'));
  s.apply(service('b'));
  const rec = new Recorder<SeenEvent>();
  const inf = informer(s, '/api/v1/services', rec);
  await withTimeout(inf.start(), 5000, 'sync');
  assert.equal(s.openWatches(), 1);
  s.apply(service('x'));
  await rec.until((items) => items.length === 3, 'live add before the drop');
  const xRv = rec.items[2]!.rv;

  // Changes made in the same tick as the drop can only reach the informer by a resumed watch.
  s.dropWatches();
  s.apply(service('c'));
  s.apply(service('a', 'default', 'v2'));
  s.remove(service('b'));
  await rec.until((items) => items.length === 6, 'events after the drop');
  s.apply(service('d'));
  await rec.until((items) => items.length === 7, 'live event on the new watch');

  assert.deepEqual(eventLog(rec), ['add:a', 'add:b', 'add:x', 'add:c', 'update:a', 'delete:b', 'add:d']);
  assert.equal(listCalls(s, '/api/v1/services'), 1, 'resumed without a re-list');
  const watches = s.requests.filter((r) => r.query.watch !== undefined);
  assert.equal(watches.length, 2);
  assert.equal(watches[1]!.query.resourceVersion, xRv, 'resumed from the last event seen');
  assert.deepEqual(names(inf), ['a', 'c', 'd', 'x']);
});

test('410 Gone after compaction triggers a re-list that converges, including missed deletes', async () => {
  const s = await server();
  s.apply(service('a'));
  s.apply(service('b'));
  s.apply(service('keep'));
  const rec = new Recorder<SeenEvent>();
  const inf = informer(s, '/api/v1/services', rec);
  await withTimeout(inf.start(), 5000, 'sync');

  s.dropWatches();
  s.apply(service('c'));
  s.apply(service('a', 'default', 'v2'));
  s.remove(service('b'));
  s.compactHistory();
  await rec.until((items) => items.length === 6, 're-list diff');

  assert.deepEqual(eventLog(rec).slice(0, 3).sort(), ['add:a', 'add:b', 'add:keep']);
  assert.deepEqual(eventLog(rec).slice(3).sort(), ['add:c', 'delete:b', 'update:a']);
  assert.equal(listCalls(s, '/api/v1/services'), 2, 'one re-list after 410');
  assert.deepEqual(names(inf), ['a', 'c', 'keep']);
  assert.equal(inf.list().find((o) => o.metadata?.name === 'a')?.metadata?.labels?.version, 'v2');

  s.apply(service('e'));
  await rec.until((items) => items.length === 7, 'live event after re-list');
  assert.equal(eventLog(rec)[6], 'add:e');
});

test('the informer keeps its cache while the server is gone and converges when it returns', async () => {
  const first = await startKubeTestServer();
  const port = first.port;
  first.apply(service('a'));
  first.apply(service('b'));
  const rec = new Recorder<SeenEvent>();
  const logs = new LogCapture();
  const logger = createLogger('kube-test', { level: 'warn', destination: logs });
  const inf = informer(first, '/api/v1/services', rec, { logger });
  await withTimeout(inf.start(), 5000, 'sync');

  await first.close();
  await logs.until(
    (l) => l.filter((x) => x.msg === 'informer list/watch failed; restarting').length >= 2,
    'retries',
  );
  assert.deepEqual(names(inf), ['a', 'b'], 'last known objects kept while disconnected');
  const delays = logs.items
    .filter((l) => l.msg === 'informer list/watch failed; restarting')
    .map((l) => l.retryInMs as number);
  assert.ok(delays[1]! > delays[0]!, `backoff grows: ${delays}`);

  const second = await server(port);
  second.apply(service('a', 'default', 'v2'));
  second.apply(service('c'));
  await rec.until((items) => items.length === 5, 'convergence after restart', 8000);
  assert.deepEqual(eventLog(rec).slice(2).sort(), ['add:c', 'delete:b', 'update:a']);
  assert.deepEqual(names(inf), ['a', 'c']);
  assert.equal(inf.synced(), true);
});

test('start() keeps retrying until the first list succeeds', async () => {
  const s = await startKubeTestServer();
  const port = s.port;
  const kubeConfig = s.kubeConfig();
  await s.close();
  const rec = new Recorder<SeenEvent>();
  const inf = createInformer<KubernetesObject>({
    kubeConfig,
    path: '/api/v1/services',
    logger: silentLogger,
    onEvent: (type, obj) => rec.push(seen(type, obj)),
    backoff: { initialMs: 20, maxMs: 100 },
  });
  cleanups.push(() => inf.stop());
  const started = inf.start();
  assert.equal(inf.synced(), false);
  const back = await server(port);
  back.apply(service('late'));
  await withTimeout(started, 5000, 'sync after server appears');
  assert.equal(inf.synced(), true);
  assert.deepEqual(eventLog(rec), ['add:late']);
});
