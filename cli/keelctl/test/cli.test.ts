import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot, sharedTestdata, type TempDir, tempDir } from '@keel/testing';

const MAIN = path.join(repoRoot(), 'cli', 'keelctl', 'dist', 'src', 'main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawns the built CLI and collects its output and exit code. */
function keelctl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const VALID = `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
---
apiVersion: rbac.istio.io/v1alpha1
kind: ServiceRole
metadata:
  name: viewer
  namespace: prod
spec:
  rules:
  - services: ["*"]
    methods: ["GET"]
`;

const INVALID = `apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: bad-rule
  namespace: istio-system
spec:
  badField: foo
---
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: gw
spec:
  servers: []
`;

const MALFORMED = `apiVersion: v1
kind: Namespace
metadata: {name: fine}
---
apiVersion: v1
kind: Namespace
metadata: {name: [broken
`;

let dir: TempDir;
before(async () => {
  dir = await tempDir('keelctl');
  await writeFile(path.join(dir.path, 'valid.yaml'), VALID);
  await writeFile(path.join(dir.path, 'invalid.yaml'), INVALID);
  await writeFile(path.join(dir.path, 'malformed.yaml'), MALFORMED);
  await mkdir(path.join(dir.path, 'tree', 'deep'), { recursive: true });
  await writeFile(path.join(dir.path, 'tree', 'a.yaml'), VALID);
  await writeFile(
    path.join(dir.path, 'tree', 'deep', 'b.json'),
    JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } }),
  );
});
after(() => dir.cleanup());

test('valid file: exit 0 and a summary line', async () => {
  const r = await keelctl('validate', '-f', path.join(dir.path, 'valid.yaml'));
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, '2 resources valid\n');
});

test('invalid file: one formatted line per error, exit 1', async () => {
  const file = path.join(dir.path, 'invalid.yaml');
  const r = await keelctl('validate', '-f', file);
  assert.equal(r.code, 1);
  assert.deepEqual(r.stdout.trimEnd().split('\n'), [
    `${file}:1 rule istio-system/bad-rule: spec.badField: unknown field "badField"`,
    `${file}:9 Gateway default/gw: spec.servers: gateway must have at least one server`,
    '0 resources valid, 2 errors',
  ]);
});

test('malformed YAML: syntax error with its line, the good document still counts, exit 1', async () => {
  const file = path.join(dir.path, 'malformed.yaml');
  const r = await keelctl('validate', '-f', file);
  assert.equal(r.code, 1);
  const lines = r.stdout.trimEnd().split('\n');
  const summary = lines.pop();
  assert.ok(lines.length >= 1, r.stdout);
  for (const line of lines) {
    assert.ok(line.startsWith(`${file}:`), line);
    assert.ok(
      Number(line.slice(file.length + 1).split(':')[0]) >= 5,
      `line number inside the broken document: ${line}`,
    );
  }
  assert.equal(summary, `1 resource valid, ${lines.length} error${lines.length === 1 ? '' : 's'}`);
});

test('repeatable -f and recursive directories; -n sets the default namespace', async () => {
  const r = await keelctl(
    'validate',
    '-f',
    path.join(dir.path, 'tree'),
    '--filename',
    path.join(dir.path, 'valid.yaml'),
    '-n',
    'other',
  );
  assert.equal(r.code, 1, 'same resources twice are duplicates');
  assert.match(r.stdout, /DestinationRule other\/reviews: duplicate DestinationRule/);
  const tree = await keelctl('validate', '-f', path.join(dir.path, 'tree'));
  assert.equal(tree.code, 0, tree.stdout);
  assert.equal(tree.stdout, '3 resources valid\n');
});

test('Galley dataset directory: invalid files make the run fail', async () => {
  const dataset = sharedTestdata('galley', 'testdata', 'validation', 'dataset');
  const r = await keelctl('validate', '-f', dataset);
  assert.equal(r.code, 1);
  assert.match(
    r.stdout,
    /config-v1alpha2-instance-invalid\.yaml:1 instance default\/source-info: spec\.zarams: unknown field "zarams"/,
  );
  assert.doesNotMatch(r.stdout, /-valid\.yaml:/);
});

test('--help prints usage and exits 0; unknown command and missing -f exit 2 with usage', async () => {
  const help = await keelctl('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: keelctl/);
  const unknown = await keelctl('frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"[\s\S]*Usage: keelctl/);
  const none = await keelctl();
  assert.equal(none.code, 2);
  const noFile = await keelctl('validate');
  assert.equal(noFile.code, 2);
  assert.match(noFile.stderr, /needs at least one -f/);
  const missing = await keelctl('validate', '-f', path.join(dir.path, 'nope.yaml'));
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /nope\.yaml: ENOENT/);
});
