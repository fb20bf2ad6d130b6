import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startKubeTestServer } from '../src/index.js';
import { service } from './helpers.js';

const KUBECTL = '/usr/bin/kubectl';
const run = promisify(execFile);
const skip = existsSync(KUBECTL) ? false : `${KUBECTL} is not installed`;

test('kubectl --server lists and creates against the test server', { skip }, async () => {
  const s = await startKubeTestServer();
  const dir = mkdtempSync(join(tmpdir(), 'keel-kubectl-'));
  try {
    s.apply(service('reviews', 'bookinfo'));
    s.apply(service('ratings', 'default'));
    // An empty kubeconfig keeps the user's own config and cache out of the test.
    const kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, '');
    const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: dir };
    const kubectl = (...args: string[]) =>
      run(KUBECTL, [`--server=${s.url}`, '--request-timeout=5s', ...args], { env, timeout: 20_000 });

    const got = await kubectl('get', 'services', '-A', '-o', 'json');
    const list = JSON.parse(got.stdout) as { items: { metadata: { name: string; namespace: string } }[] };
    assert.deepEqual(list.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`).sort(), [
      'bookinfo/reviews',
      'default/ratings',
    ]);

    const manifest = join(dir, 'cm.json');
    writeFileSync(
      manifest,
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mesh' }, data: { a: 'b' } }),
    );
    await kubectl('create', '--validate=false', '-n', 'istio-system', '-f', manifest);
    const cm = await kubectl('get', 'configmap', 'mesh', '-n', 'istio-system', '-o', 'json');
    assert.deepEqual(JSON.parse(cm.stdout).data, { a: 'b' });
    await kubectl('delete', 'configmap', 'mesh', '-n', 'istio-system');
    assert.ok(s.requests.some((r) => r.method === 'DELETE' && r.path.endsWith('/configmaps/mesh')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await s.close();
  }
});
