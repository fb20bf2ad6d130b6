// Istio 1.4's Galley conformance inputs: each input comes out of MCP in the expected collection
// with the expected body. Expected bodies are in tests/integration/conformance/testdata/*/*/basic/mcp.yaml.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { meshConfigDefaults, parseDocuments, parseMeshConfig } from '@keel/config';
import { unpackStruct } from '@keel/proto';
import { sharedTestdata } from '@keel/testing';
import { servedCollections } from '../src/index.js';
import { Ingestor } from '../src/ingest.js';
import { buildSnapshot } from '../src/snapshot.js';
import { ResourceStore } from '../src/store.js';

const ROOT = sharedTestdata('tests/integration/conformance/testdata');
const NAMESPACE = 'conformance';
/** Cases Keel does not serve, with the reason. */
const NOT_SUPPORTED: Record<string, string> = {};

interface Expectation {
  collection: string;
  /** undefined: the collection must be empty (an `empty:` check). */
  body?: unknown;
  name?: string;
}

/** Go's dump of a google.protobuf.Struct ({fields: {k: {Kind: {StringValue: v}}}}) -> plain JSON. */
function fromGoStruct(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromGoStruct);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if ('Kind' in o && Object.keys(o).length === 1) {
    const kind = o.Kind as Record<string, unknown>;
    const [k, inner] = Object.entries(kind)[0]!;
    if (k === 'StructValue') return fromGoStruct((inner as Record<string, unknown>).fields ?? {});
    if (k === 'ListValue')
      return ((inner as Record<string, unknown>).values as unknown[] | undefined)?.map(fromGoStruct) ?? [];
    if (k === 'NullValue') return null;
    return inner;
  }
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(o)) out[k] = fromGoStruct(val);
  return out;
}

/** Index just past the JSON object starting at `from` (braces inside strings ignored). */
function objectEnd(text: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return i + 1;
  }
  throw new Error('unterminated object');
}

/** The `- collection:` / `equals: {json}` pairs of an mcp.yaml (its flow maps are JSON, indented loosely). */
function expectations(dir: string): Expectation[] {
  const text = readFileSync(join(dir, 'mcp.yaml'), 'utf8').replaceAll('{{.Namespace}}', NAMESPACE);
  const out: Expectation[] = [];
  const re = /collection:\s*(\S+)|(- empty:)|equals:\s*\{/g;
  let collection = '';
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1]) {
      collection = m[1];
      continue;
    }
    if (m[2]) {
      out.push({ collection });
      continue;
    }
    const open = m.index + m[0].length - 1;
    const close = objectEnd(text, open);
    // Some files carry trailing commas (Go's YAML reader accepts them); JSON.parse does not.
    const eq = JSON.parse(text.slice(open, close).replace(/,(\s*[}\]])/g, '$1')) as Record<string, any>;
    re.lastIndex = close;
    const body = eq.Body && 'fields' in eq.Body ? fromGoStruct(eq.Body.fields) : eq.Body;
    out.push({ collection, body, name: eq.Metadata?.name?.replace('{{.Namespace}}', NAMESPACE) });
  }
  return out;
}

/**
 * Every expected field is present with an equal value. Keel serves bodies as written, so a body may
 * also carry fields set explicitly to a proto3 default (e.g. `index: FIRST`) that Istio's proto
 * round trip drops; arrays must match element for element.
 */
function contains(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => contains(actual[i], e))
    );
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([k, v]) => contains((actual as Record<string, unknown>)[k], v));
  }
  return actual === expected;
}

function cases(): string[] {
  const list: string[] = [];
  for (const group of readdirSync(ROOT)) {
    for (const kind of readdirSync(join(ROOT, group))) {
      const basic = join(group, kind, 'basic');
      try {
        readFileSync(join(ROOT, basic, 'mcp.yaml'));
        list.push(basic);
      } catch {
        // not a basic case
      }
    }
  }
  return list.sort();
}

describe('Galley conformance (Istio 1.4 testdata)', () => {
  const all = cases();
  it('finds the conformance cases', () => assert.ok(all.length >= 20, `only ${all.length} cases`));
  for (const name of all) {
    const skip = NOT_SUPPORTED[name];
    it(name, { skip }, () => {
      const dir = join(ROOT, name);
      const text = readFileSync(join(dir, 'input.yaml'), 'utf8').replaceAll('{{.Namespace}}', NAMESPACE);
      const parsed = parseDocuments(text, 'input.yaml');
      assert.deepEqual(parsed.errors, []);
      const resources = parsed.resources.map((r) =>
        r.metadata.namespace ? r : { ...r, metadata: { ...r.metadata, namespace: NAMESPACE } },
      );
      const store = new ResourceStore();
      const rejected: string[] = [];
      const ingestor = new Ingestor(store, {
        accepted: () => {},
        rejected: (e) => rejected.push(...e.map((x) => x.message)),
      });
      ingestor.applyOriginSet('input.yaml', resources, []);
      assert.deepEqual(rejected, [], 'every conformance input is valid');
      const meshFile = join(dir, 'meshconfig.yaml');
      const mesh = existsSync(meshFile)
        ? parseMeshConfig(readFileSync(meshFile, 'utf8'), meshFile)
        : { ok: true as const, value: meshConfigDefaults() };
      assert.ok(mesh.ok, 'mesh config parses');
      const snap = buildSnapshot(
        store,
        servedCollections(),
        mesh.value as unknown as Record<string, unknown>,
        '1',
      );
      for (const exp of expectations(dir)) {
        const served = snap.collections.get(exp.collection);
        assert.ok(served, `collection ${exp.collection} is served`);
        if (exp.body === undefined) {
          assert.deepEqual(served, [], `${exp.collection} is empty`);
          continue;
        }
        const bodies = served.map((r) => ({ name: r.metadata.name, body: unpackStruct(r.body) }));
        const match = bodies.filter((b) => contains(b.body, exp.body));
        assert.equal(
          match.length,
          1,
          `exactly one ${exp.collection} body has the expected fields; got ${JSON.stringify(bodies).slice(0, 600)}`,
        );
        if (exp.name) assert.equal(match[0]!.name, exp.name);
      }
    });
  }
});
