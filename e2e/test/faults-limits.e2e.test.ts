import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kinds, toResource, validateResource } from '@keel/config';
import { type TempDir, tempDir } from '@keel/testing';
import { type GalleyProcess, recordingSink, startGalley } from '../src/index.js';

/** `{a: {a: ... {leaf: 1}}}` nested `levels` deep, as YAML flow text (one line). */
function deep(levels: number): string {
  return `${'{"a": '.repeat(levels)}{"leaf": 1}${'}'.repeat(levels)}`;
}
const hugeString = (bytes: number) => JSON.stringify('x'.repeat(bytes));

/** Where each kind carries free-form data (google.protobuf.Struct or a params map); else a spec field. */
function specWith(kind: string, typeName: string, value: string): string {
  if (kind === 'EnvoyFilter')
    return `{"configPatches": [{"applyTo": "HTTP_FILTER", "patch": {"operation": "MERGE", "value": {"config": ${value}}}}]}`;
  if (kind === 'handler') return `{"compiledAdapter": "prometheus", "params": {"metrics": ${value}}}`;
  if (kind === 'instance') return `{"compiledTemplate": "metric", "params": {"dimensions": ${value}}}`;
  if (typeName === 'google.protobuf.Struct') return `{"config": ${value}}`;
  return `{"extra": ${value}}`;
}

const istioKinds = kinds.filter((k) => k.group.endsWith('istio.io'));

function doc(kind: (typeof kinds)[number], name: string, value: string): string {
  const ns = kind.clusterScoped ? '' : ', "namespace": "default"';
  return `---\n{"apiVersion": "${kind.group}/${kind.version}", "kind": "${kind.kind}", "metadata": {"name": "${name}"${ns}}, "spec": ${specWith(kind.kind, kind.typeName, value)}}\n`;
}

const SENTINEL = `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: sentinel, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`;

/** The galley 'config rejected' warning lines naming `code`. */
function rejections(g: GalleyProcess, code: string): string[] {
  return g.proc.stdoutLines.filter((l) => l.includes(`"code":"${code}"`));
}

describe('galley under deep and huge free-form fields (real process)', () => {
  let dir: TempDir;
  let galley: GalleyProcess;

  before(async () => {
    dir = await tempDir('keel-limits-');
    await writeFile(path.join(dir.path, 'a-sentinel.yaml'), SENTINEL);
    // Present before galley starts: galley used to crash on startup (and every restart) with these.
    let text = '';
    for (const k of istioKinds) {
      text += doc(k, `deep-${k.kind.toLowerCase()}`, deep(60));
      text += doc(k, `deeper-${k.kind.toLowerCase()}`, deep(400));
      text += doc(k, `huge-${k.kind.toLowerCase()}`, hugeString(80 * 1024));
    }
    await writeFile(path.join(dir.path, 'b-hostile.yaml'), text);
    galley = await startGalley({
      configDir: dir.path,
      extraArgs: ['--max-resource-size', String(64 * 1024), '--debounce-quiet', '20ms'],
    });
  });
  after(async () => {
    await galley?.stop();
    await dir?.cleanup();
  });

  it('rejects every kind with the path, keeps running and serves the rest', async () => {
    const deepLines = rejections(galley, 'TOO_DEEP');
    const hugeLines = rejections(galley, 'TOO_LARGE');
    for (const k of istioKinds) {
      const n = k.kind.toLowerCase();
      assert.ok(
        deepLines.some((l) => l.includes(`deep-${n}`) && /spec\.[^"]*\.a\.a\.a/.test(l)),
        `${k.kind}: depth-60 field rejected with its path`,
      );
      assert.ok(
        deepLines.some((l) => l.includes(`deeper-${n}`)),
        `${k.kind}: depth-400 field rejected`,
      );
      assert.ok(
        hugeLines.some((l) => l.includes(`huge-${n}`) && l.includes('64 KiB')),
        `${k.kind}: 80 KiB field rejected against the configured 64 KiB cap`,
      );
    }
    // Every log line stays short although the input was not.
    const longest = Math.max(...galley.proc.stdoutLines.map((l) => l.length));
    assert.ok(longest < 4096, `longest log line ${longest} bytes`);
    const ready = await galley.get(galley.monitoringPort, '/ready');
    assert.equal(ready.status, 200);
    const { sink, updates } = recordingSink(galley.mcpAddress);
    sink.start();
    try {
      const gw = await updates.next(
        (u) => u.collection === 'istio/networking/v1alpha3/gateways' && u.resources.length > 0,
        'gateways served',
      );
      assert.deepEqual(
        gw.value.resources.map((r) => r.metadata.name),
        ['default/sentinel'],
      );
    } finally {
      await sink.stop();
    }
  });

  it('a hostile file added while running is rejected; the process stays up', async () => {
    const ef = istioKinds.find((k) => k.kind === 'EnvoyFilter')!;
    await writeFile(path.join(dir.path, 'c-late.yaml'), doc(ef, 'hostile-added', deep(48)));
    await galley.proc.waitForLine(/"code":"TOO_DEEP".*hostile-added|hostile-added.*"code":"TOO_DEEP"/, 5000);
    const ready = await galley.get(galley.monitoringPort, '/ready');
    assert.equal(ready.status, 200);
  });

  it('default cap is 1.5 MiB: a 2 MB resource is refused by the same validation keelctl uses', () => {
    const ef = istioKinds.find((k) => k.kind === 'EnvoyFilter')!;
    const raw = JSON.parse(doc(ef, 'big', hugeString(2 * 1024 * 1024)).slice(4));
    const r = toResource(raw);
    assert.ok('resource' in r);
    const v = validateResource(r.resource);
    assert.equal(v.ok, false);
    assert.match(!v.ok ? (v.errors[0]?.message ?? '') : '', /1\.5 MiB/);
  });
});
