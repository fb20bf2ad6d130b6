import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ErrorCode, formatError, parseDirectory, parseDocuments, parseFile } from '../src/index.js';

const MULTI = `# leading comment
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: gw
spec:
  servers: []
---
---
# only a comment
---
apiVersion: v1
kind: Endpoints
metadata:
  name: ep
  namespace: ns1
subsets:
- addresses: [{ip: 10.0.0.1}]
`;

test('multi-document YAML: skips empty documents and records file and line of each document', () => {
  const r = parseDocuments(MULTI, 'a.yaml');
  assert.deepEqual(r.errors, []);
  assert.equal(r.resources.length, 2);
  const [gw, ep] = r.resources;
  assert.deepEqual(gw?.source, { file: 'a.yaml', line: 2 });
  assert.deepEqual(gw?.body, { servers: [] });
  assert.deepEqual(ep?.source, { file: 'a.yaml', line: 12 });
  assert.deepEqual(ep?.metadata, { name: 'ep', namespace: 'ns1' });
  assert.deepEqual(ep?.body, { subsets: [{ addresses: [{ ip: '10.0.0.1' }] }] });
});

test('core kinds keep the whole object minus apiVersion/kind/metadata as body', () => {
  const pod = parseDocuments(
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {nodeName: n}\nstatus: {podIP: 1.2.3.4}\n',
  );
  assert.deepEqual(pod.resources[0]?.body, { spec: { nodeName: 'n' }, status: { podIP: '1.2.3.4' } });
  assert.equal(pod.resources[0]?.extra, undefined);
});

test('Istio kinds: body is spec, status dropped, other top-level fields kept in extra', () => {
  const r = parseDocuments(
    'apiVersion: rbac.istio.io/v1alpha1\nkind: ServiceRole\nmetadata: {name: r}\nspec: {rules: []}\nstatus: {}\nbogus: 1\n',
  );
  assert.deepEqual(r.resources[0]?.body, { rules: [] });
  assert.deepEqual(r.resources[0]?.extra, { bogus: 1 });
});

test('a syntax error is reported for its document only, with its line; other documents survive', () => {
  const text =
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nfoo: [\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n';
  const r = parseDocuments(text, 'bad.yaml');
  assert.deepEqual(
    r.resources.map((x) => x.metadata.name),
    ['a', 'b'],
  );
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]?.code, ErrorCode.YAML_SYNTAX);
  assert.equal(r.errors[0]?.source?.file, 'bad.yaml');
  assert.ok((r.errors[0]?.source?.line ?? 0) >= 5, formatError(r.errors[0]!));
});

test('duplicate keys, non-object documents, missing kind and apiVersion are coded errors', () => {
  const text =
    'a: 1\na: 2\n---\n- x\n---\napiVersion: v1\nmetadata: {name: x}\n---\nkind: Pod\n---\napiVersion: v1\nkind: Pod\nmetadata: 3\n';
  const r = parseDocuments(text, 'f.yaml');
  assert.deepEqual(
    r.errors.map((e) => [e.code, e.source?.line]),
    [
      [ErrorCode.DUPLICATE_KEY, 2],
      [ErrorCode.NOT_AN_OBJECT, 4],
      [ErrorCode.MISSING_KIND, 6],
      [ErrorCode.MISSING_API_VERSION, 9],
      [ErrorCode.INVALID_METADATA, 11],
    ],
  );
  assert.equal(r.resources.length, 0);
});

test('kind: List is expanded, each item with its own line', () => {
  const text =
    'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: b}\n';
  const r = parseDocuments(text);
  assert.deepEqual(
    r.resources.map((x) => [x.metadata.name, x.source?.line]),
    [
      ['a', 4],
      ['b', 7],
    ],
  );
});

test('JSON input parses', () => {
  const r = parseDocuments(
    JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'j' } }),
    'x.json',
  );
  assert.equal(r.resources[0]?.metadata.name, 'j');
});

test('parseDirectory is recursive over .yaml/.yml/.json, and parseFile reports unreadable files', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'keel-config-'));
  try {
    await mkdir(path.join(dir, 'sub'));
    await writeFile(path.join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n');
    await writeFile(path.join(dir, 'sub', 'b.yml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n');
    await writeFile(
      path.join(dir, 'sub', 'c.json'),
      '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"c"}}',
    );
    await writeFile(
      path.join(dir, 'sub', 'ignored.txt'),
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: d}\n',
    );
    const r = await parseDirectory(dir);
    assert.deepEqual(
      r.resources.map((x) => x.metadata.name),
      ['a', 'b', 'c'],
    );
    assert.equal(r.resources[1]?.source?.file, path.join(dir, 'sub', 'b.yml'));
    const missing = await parseFile(path.join(dir, 'nope.yaml'));
    assert.equal(missing.errors[0]?.code, ErrorCode.READ_FAILED);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
