// Istio 1.4.10's own injection cases: every input under testdata/inject/ injected by `kube-inject`
// must equal its `.injected` file field by field, and the webhook case's patch must produce the pod
// that Istio's expected patch produces.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import fastJsonPatch from 'fast-json-patch';
import { parse, parseAllDocuments } from 'yaml';
import {
  buildInjector,
  injectObject,
  parseInjectConfig,
  parseValues,
  reviewInjection,
} from '../src/index.js';
import { fixture, injectTestdata, type Obj, readText, unitTestInjector } from './helpers.js';

/**
 * Removes what Go's serialisation adds and Keel does not write (zero values of structs:
 * `creationTimestamp: null`, `strategy: {}`, `status: {}`, `resources: {}` on app containers),
 * listed as deliberate differences in services/sidecar-injector/README.md.
 */
function withoutGoZeroValues(doc: Obj, input: Obj): Obj {
  const out = structuredClone(doc);
  const drop = (o: Obj | undefined, key: string, isZero: (v: unknown) => boolean) => {
    if (o && key in o && isZero(o[key])) delete o[key];
  };
  const isNull = (v: unknown) => v === null;
  const isEmpty = (v: unknown) => v !== null && typeof v === 'object' && Object.keys(v as Obj).length === 0;
  drop(out.metadata, 'creationTimestamp', isNull);
  drop(out.spec, 'strategy', isEmpty);
  drop(out, 'status', isEmpty);
  const tpl = out.spec?.template;
  drop(tpl?.metadata, 'creationTimestamp', isNull);
  const appNames = new Set((input.spec?.template?.spec?.containers ?? []).map((c: Obj) => c.name));
  for (const c of tpl?.spec?.containers ?? []) if (appNames.has(c.name)) drop(c, 'resources', isEmpty);
  return out;
}

describe('testdata/inject: kube-inject output equals Istio 1.4.10', async () => {
  const injector = await unitTestInjector();
  const inputs = readdirSync(injectTestdata('inject')).filter((f) => f.endsWith('.yaml'));
  it('has cases', () => assert.ok(inputs.length >= 3));
  for (const file of inputs) {
    it(file, () => {
      const input = parse(readText(injectTestdata('inject', file))) as Obj;
      const docs = parseAllDocuments(readText(injectTestdata('inject', `${file}.injected`)))
        .map((d) => d.toJS() as Obj)
        .filter(Boolean);
      assert.equal(docs.length, 1);
      const expected = withoutGoZeroValues(docs[0]!, input);
      const r = injectObject(injector, input);
      assert.ok(r.ok, r.ok ? '' : r.errors.join('; '));
      const got = structuredClone(r.value.object);
      // The status version is the template's sha256 (Istio's unit tests ran with an empty one).
      const tplMeta = got.spec.template.metadata;
      const status = JSON.parse(tplMeta.annotations['sidecar.istio.io/status']);
      assert.equal(status.version, injector.version);
      assert.match(status.version, /^[0-9a-f]{64}$/);
      status.version = '';
      tplMeta.annotations['sidecar.istio.io/status'] = JSON.stringify(status);
      const gotPod = got.spec.template;
      const wantPod = expected.spec.template;
      // Field by field first, for readable failures, then the whole object.
      assert.deepEqual(gotPod.metadata.annotations, wantPod.metadata.annotations, 'annotations');
      assert.deepEqual(gotPod.metadata.labels, wantPod.metadata.labels, 'labels');
      assert.deepEqual(gotPod.spec.initContainers, wantPod.spec.initContainers, 'initContainers');
      const byName = (list: Obj[], n: string) => list.find((c) => c.name === n);
      const proxy = byName(gotPod.spec.containers, 'istio-proxy')!;
      const want = byName(wantPod.spec.containers, 'istio-proxy')!;
      assert.deepEqual(proxy.args, want.args, 'istio-proxy args');
      assert.deepEqual(proxy.env, want.env, 'istio-proxy env');
      assert.deepEqual(proxy.volumeMounts, want.volumeMounts, 'istio-proxy volumeMounts');
      assert.deepEqual(proxy, want, 'istio-proxy');
      assert.deepEqual(gotPod.spec.volumes, wantPod.spec.volumes, 'volumes');
      assert.deepEqual(got, expected, 'the whole object');
    });
  }
});

describe('testdata/webhook: TestWebhookInject', () => {
  it('the patch gives the pod that Istio 1.4.10 expected', () => {
    // The case's template, ported from Go text/template to Handlebars (the only change: syntax).
    const config = parseInjectConfig(readText(fixture('TestWebhookInject_template.yaml')));
    assert.ok(config.ok, config.ok ? '' : config.errors.join('; '));
    const values = parseValues('{}');
    assert.ok(values.ok);
    const built = buildInjector(config.value, values.value);
    assert.ok(built.ok, built.ok ? '' : built.errors.join('; '));
    const injector = { ...built.value, version: 'unit-test-fake-version' };
    const pod = parse(readText(injectTestdata('webhook', 'TestWebhookInject.yaml'))) as Obj;
    // As decoded into a Go corev1.Pod, the object always has metadata.
    pod.metadata ??= {};
    const review = reviewInjection(injector, {
      uid: 'u-1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'default',
      operation: 'CREATE',
      userInfo: {},
      object: pod,
    });
    assert.equal(review.outcome, 'injected');
    assert.ok(review.decision.allowed && review.decision.patch);
    const istioPatch = JSON.parse(readText(injectTestdata('webhook', 'TestWebhookInject.patch')));
    const want = fastJsonPatch.applyPatch(structuredClone(pod), istioPatch, true, false).newDocument;
    // Go writes `resources: {}` for every container it serialises; Keel leaves it out.
    for (const c of [...want.spec.initContainers, ...want.spec.containers]) {
      if (c.resources && Object.keys(c.resources).length === 0) delete c.resources;
    }
    const got = fastJsonPatch.applyPatch(
      structuredClone(pod),
      review.decision.patch,
      true,
      false,
    ).newDocument;
    assert.deepEqual(got, want);
    // Same kinds of operation as Istio's: only additions, nothing of the original pod replaced.
    assert.ok(
      review.decision.patch.every((op) => op.op === 'add'),
      JSON.stringify(review.decision.patch),
    );
  });
});
