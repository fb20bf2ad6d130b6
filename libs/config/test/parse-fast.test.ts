import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as yamlParse } from 'yaml';
import { ErrorCode, parseDocuments } from '../src/index.js';

const ns = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}}\n`;

/** The value of `v` in a ConfigMap-like core object, read through parseDocuments. */
function dataValue(scalar: string): unknown {
  const r = parseDocuments(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  v: ${scalar}\n`);
  assert.deepEqual(r.errors, [], scalar);
  const data = r.resources[0]?.body.data as Record<string, unknown> | undefined;
  return data?.v;
}

test('scalars resolve as the yaml package (YAML 1.2 core) resolves them', () => {
  const expected: Array<[string, unknown]> = [
    ['1.10', 1.1],
    ['"1.10"', '1.10'],
    ["'123'", '123'],
    ['2001-12-14', '2001-12-14'],
    ['2001-12-14T21:59:43.10-05:00', '2001-12-14T21:59:43.10-05:00'],
    ['0755', 755],
    ['0o17', 15],
    ['0x1F', 31],
    ['yes', 'yes'],
    ['on', 'on'],
    ['off', 'off'],
    ['True', true],
    ['FALSE', false],
    ['~', null],
    ['Null', null],
    ['0b101', '0b101'],
    ['1_000', '1_000'],
    ['-0x10', '-0x10'],
    ['+.5', 0.5],
    ['-.5', -0.5],
    ['1e3', 1000],
    ['-.inf', -Infinity],
    ['123456789012', 123456789012],
  ];
  for (const [scalar, want] of expected) assert.deepEqual(dataValue(scalar), want, scalar);
  assert.ok(Number.isNaN(dataValue('.NaN')));
  assert.ok(Object.is(dataValue('-0'), -0));
  for (const [scalar] of expected) assert.deepEqual(dataValue(scalar), yamlParse(`v: ${scalar}`).v, scalar);
});

test('null and collection keys are stringified as the yaml package does', () => {
  const r = parseDocuments(
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  null: a\n  1: b\n',
  );
  assert.deepEqual(r.resources[0]?.body.data, { '': 'a', '1': 'b' });
});

test('anchors, aliases and duplicate keys in a later document keep their lines', () => {
  const text = `${ns('a')}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  x: &v hello\n  y: *v\n---\n${ns('b')}kind: Dup\n`;
  const r = parseDocuments(text, 'f.yaml');
  assert.deepEqual(r.resources[1]?.body.data, { x: 'hello', y: 'hello' });
  assert.deepEqual(r.resources[1]?.source, { file: 'f.yaml', line: 5 });
  assert.deepEqual(
    r.errors.map((e) => [e.code, e.source?.line]),
    [[ErrorCode.DUPLICATE_KEY, 15]],
  );
});

test('a flow collection that the yaml package rejects for indentation stays an error', () => {
  const text = `${ns('a')}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {\nx: y}\n---\n${ns('b')}`;
  const r = parseDocuments(text);
  assert.deepEqual(
    r.resources.map((x) => [x.metadata.name, x.source?.line]),
    [
      ['a', 1],
      ['b', 11],
    ],
  );
  assert.equal(r.errors[0]?.code, ErrorCode.YAML_SYNTAX);
  assert.equal(r.errors[0]?.source?.line, 9);
});

test('an unclosed quote does not swallow the documents after the next marker', () => {
  const r = parseDocuments(`${ns('a')}---\nkind: "oops\n---\n${ns('b')}`);
  assert.deepEqual(
    r.resources.map((x) => [x.metadata.name, x.source?.line]),
    [
      ['a', 1],
      ['b', 7],
    ],
  );
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]?.code, ErrorCode.YAML_SYNTAX);
});

test('content on the marker line, comments after it, document end markers and directives', () => {
  const text = `--- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n---   # note\n\n${ns('b')}...\n# after end\n${ns('c')}`;
  assert.deepEqual(
    parseDocuments(text).resources.map((x) => [x.metadata.name, x.source?.line]),
    [
      ['a', 1],
      ['b', 4],
      ['c', 9],
    ],
  );
  const v11 = parseDocuments(
    '%YAML 1.1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {v: on}\n',
  );
  assert.deepEqual(v11.resources[0]?.body.data, { v: true });
  assert.equal(v11.resources[0]?.source?.line, 3);
});

test('a generated 10,000-document stream: counts and lines', () => {
  const docs: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    docs.push(
      i % 1000 === 999
        ? 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\nmetadata: {name: y}\n'
        : `apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-${i}\n  namespace: ns-${i % 7}\nspec:\n  ports:\n  - {name: http, port: ${8000 + (i % 100)}}\n`,
    );
  }
  const text = `# generated\n${docs.join('---\n')}`;
  const r = parseDocuments(text, 'big.yaml');
  assert.equal(r.resources.length, 9_990);
  assert.equal(r.errors.length, 10);
  assert.ok(r.errors.every((e) => e.code === ErrorCode.DUPLICATE_KEY && e.source?.file === 'big.yaml'));
  // Each Service document is 8 lines plus its marker; documents 999, 1999, ... are 4 lines plus marker (4 fewer).
  const lineOf = (i: number) => 2 + i * 9 - Math.floor(i / 1000) * 4;
  assert.deepEqual(r.resources[0]?.source, { file: 'big.yaml', line: 2 });
  assert.equal(r.resources[1]?.source?.line, lineOf(1));
  assert.equal(r.resources[998]?.source?.line, lineOf(998));
  assert.equal(r.resources[999]?.metadata.name, 'svc-1000');
  assert.equal(r.resources[999]?.source?.line, lineOf(1000));
  assert.equal(r.resources.at(-1)?.metadata.name, 'svc-9998');
  assert.equal(r.resources.at(-1)?.source?.line, lineOf(9998));
  assert.equal(r.errors[0]?.source?.line, lineOf(999) + 3);
  assert.deepEqual(r.resources[5]?.body, { spec: { ports: [{ name: 'http', port: 8005 }] } });
});
