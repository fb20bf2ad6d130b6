import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot, sharedTestdata, type TempDir, tempDir } from '@keel/testing';
import { parse, parseAllDocuments } from 'yaml';

const MAIN = path.join(repoRoot(), 'cli', 'keelctl', 'dist', 'src', 'main.js');
const UNITTEST_VALUES = path.join(repoRoot(), 'services/sidecar-injector/test/fixtures/unittest-values.json');
const inject = (f: string) => sharedTestdata('pkg/kube/inject/testdata/inject', f);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function keelctl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: TempDir;
before(async () => {
  dir = await tempDir('kube-inject');
});
after(() => dir.cleanup());

type Obj = Record<string, any>;
const proxyOf = (d: Obj) => d.spec.template.spec.containers.find((c: Obj) => c.name === 'istio-proxy');

test('kube-inject -f on Istio testdata prints the injected Deployment as YAML', async () => {
  const r = await keelctl(
    'kube-inject',
    '-f',
    inject('traffic-annotations.yaml'),
    '--valuesFile',
    UNITTEST_VALUES,
  );
  assert.equal(r.code, 0, r.stderr);
  const got = parse(r.stdout) as Obj;
  const want = parseAllDocuments(
    readFileSync(inject('traffic-annotations.yaml.injected'), 'utf8'),
  )[0]!.toJS() as Obj;
  assert.deepEqual(proxyOf(got).args, proxyOf(want).args);
  assert.deepEqual(proxyOf(got).env, proxyOf(want).env);
  assert.deepEqual(got.spec.template.spec.initContainers, want.spec.template.spec.initContainers);
  assert.deepEqual(got.spec.template.spec.volumes, want.spec.template.spec.volumes);
  assert.deepEqual(got.spec.template.metadata.labels, want.spec.template.metadata.labels);
});

test('kube-inject handles several documents and Lists; its output injected again is unchanged', async () => {
  const file = path.join(dir.path, 'many.yaml');
  const deploy = readFileSync(inject('hello.yaml'), 'utf8');
  await writeFile(
    file,
    `${deploy}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: hello}\nspec: {ports: [{port: 80}]}\n---\n` +
      `apiVersion: v1\nkind: List\nitems:\n- apiVersion: batch/v1\n  kind: Job\n  metadata: {name: once}\n` +
      `  spec:\n    template:\n      spec:\n        restartPolicy: Never\n        containers: [{name: once, image: busybox}]\n`,
  );
  const first = await keelctl('kube-inject', '-f', file);
  assert.equal(first.code, 0, first.stderr);
  const docs = parseAllDocuments(first.stdout).map((d) => d.toJS() as Obj);
  assert.deepEqual(
    docs.map((d) => d.kind),
    ['Deployment', 'Service', 'List'],
  );
  assert.match(proxyOf(docs[0]!).image, /^docker\.io\/istio\/proxyv2:1\.4\.10$/);
  assert.ok(proxyOf(docs[0]!).args.includes('--zipkinAddress'), 'shipped values trace to zipkin');
  assert.equal(docs[2]!.items[0].spec.template.spec.containers.length, 2);
  const injectedFile = path.join(dir.path, 'injected.yaml');
  await writeFile(injectedFile, first.stdout);
  const second = await keelctl('kube-inject', '-f', injectedFile);
  assert.equal(second.code, 0);
  assert.equal(second.stdout, first.stdout);
  assert.match(second.stderr, /skipped Deployment hello: already injected/);
});

test('kube-inject reports bad input and bad usage', async () => {
  const usage = await keelctl('kube-inject');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /kube-inject needs -f FILE/);
  const missing = await keelctl('kube-inject', '-f', path.join(dir.path, 'nope.yaml'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope.yaml: ENOENT/);
  const bad = path.join(dir.path, 'bad.yaml');
  await writeFile(
    bad,
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {status.sidecar.istio.io/port: "x"}}\nspec: {containers: []}\n',
  );
  const r = await keelctl('kube-inject', '-f', bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Pod p: annotation status.sidecar.istio.io\/port: "x" is not a port/);
  const badValues = path.join(dir.path, 'values.json');
  await writeFile(badValues, '{not json');
  const v = await keelctl('kube-inject', '-f', inject('hello.yaml'), '--valuesFile', badValues);
  assert.equal(v.code, 1);
  assert.match(v.stderr, /values.json: values: JSON/);
});

test('the README example: kube-inject on the demo Deployments injects every one', async () => {
  const r = await keelctl('kube-inject', '-f', path.join(repoRoot(), 'deploy/local/workloads/bookinfo.yaml'));
  assert.equal(r.code, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
  assert.equal(docs.length, 6);
  for (const d of docs) {
    assert.equal(d.kind, 'Deployment');
    const pod = d.spec.template;
    assert.deepEqual(
      pod.spec.initContainers.map((c: Obj) => c.name),
      ['istio-init'],
    );
    assert.equal(
      proxyOf(d).env.find((e: Obj) => e.name === 'ISTIO_META_WORKLOAD_NAME').value,
      d.metadata.name,
    );
    assert.equal(
      pod.spec.volumes.find((v: Obj) => v.name === 'istio-certs').secret.secretName,
      `istio.${pod.spec.serviceAccountName}`,
    );
    assert.equal(pod.metadata.labels['security.istio.io/tlsMode'], 'istio');
  }
});

test('kube-inject -f - reads stdin; -o FILE writes the YAML there', async () => {
  const { spawn } = await import('node:child_process');
  const out = path.join(dir.path, 'out.yaml');
  const child = spawn(process.execPath, [MAIN, 'kube-inject', '-f', '-', '-o', out], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(readFileSync(inject('hello.yaml')));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0);
  const doc = parse(readFileSync(out, 'utf8')) as Obj;
  assert.equal(proxyOf(doc).name, 'istio-proxy');
});
