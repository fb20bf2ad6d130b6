// Type errors in policy config: rejected with their position, the other rules keep applying, and a
// rule that turns bad keeps its last good version in force. Through Galley and MCP.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withTimeout } from '@keel/testing';
import { outcome, type PolicyMesh, startPolicyMesh } from './mesh.js';

const denier = (name: string, ns = 'default') => `apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: ${name}, namespace: ${ns}}
spec:
  compiledAdapter: denier
  params: {status: {code: 7, message: denied by ${name}}}
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: ${name}-req, namespace: ${ns}}
spec: {compiledTemplate: checknothing}
`;
const rule = (name: string, match: string, ns = 'default') => `---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: ${name}, namespace: ${ns}}
spec:
  match: ${JSON.stringify(match)}
  actions: [{handler: ${name}, instances: [${name}-req]}]
`;

const GOOD =
  denier('denyreviews') +
  rule('denyreviews', 'source.labels["app"] == "reviews" && destination.labels["app"] == "ratings"');
const TYPO =
  denier('typo') +
  rule('typo', 'destination.labels["app"] == "details" && source.lables["app"] == "productpage"');
const MISMATCH = denier('mismatch') + rule('mismatch', 'destination.port == "9080"');
const BADINSTANCE = `---
apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: wl, namespace: default}
spec: {compiledAdapter: listchecker, params: {overrides: [a]}}
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: wl-entry, namespace: default}
spec: {compiledTemplate: listentry, params: {value: 'toLower(source.labels)'}}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: wl, namespace: default}
spec: {actions: [{handler: wl, instances: [wl-entry]}]}
`;

describe('policy config: type errors with positions', () => {
  let mesh: PolicyMesh;
  before(async () => {
    mesh = await startPolicyMesh([], { extraYaml: GOOD + '---\n' + TYPO + '---\n' + MISMATCH + BADINSTANCE });
  });
  after(async () => {
    await mesh?.stop();
  });

  it('rejects the bad rules and instance, naming resource, field and position', () => {
    const issues = Object.fromEntries(mesh.policy.config().issues.map((i) => [i.resource, i.errors]));
    assert.deepEqual(issues['rule default/typo'], ['match: 1:43: unknown attribute source.lables']);
    assert.deepEqual(issues['rule default/mismatch'], [
      'match: 1:18: operator == needs operands of one type, got INT64 and STRING',
    ]);
    assert.deepEqual(issues['instance default/wl-entry'], [
      'params.value: 1:9: argument 1 of toLower must be STRING, got STRING_MAP',
    ]);
    // The rule using the rejected instance cannot resolve it.
    assert.match(issues['rule default/wl']![0]!, /instance "wl-entry" not found/);
  });

  it('the good rule still applies; the rejected ones do not', async () => {
    const denied = outcome(await mesh.check('reviewsV1', 'ratings'));
    assert.equal(denied.body, 'PERMISSION_DENIED:denyreviews.handler.default:denied by denyreviews');
    assert.equal(outcome(await mesh.check('productpage', 'details')).http, 200);
  });

  it('/debug lists handlers, instances, rules and the errors', async () => {
    const res = await fetch(`http://127.0.0.1:${mesh.monitoringPort}/debug`);
    const body = (await res.json()) as any;
    assert.ok(body.rules.some((r: any) => r.name === 'denyreviews.rule.default'));
    assert.ok(body.handlers.some((h: any) => h.name === 'typo.handler.default' && h.adapter === 'denier'));
    assert.ok(body.errors.some((e: any) => e.resource === 'rule default/typo'));
    const metrics = await (await fetch(`http://127.0.0.1:${mesh.monitoringPort}/metrics`)).text();
    assert.match(metrics, /mixer_config_resource_errors_total\{kind="rule"\} 3/);
    assert.match(
      metrics,
      /mixer_runtime_dispatches_total\{handler="denyreviews.handler.default",adapter="denier",error="false"\} 1/,
    );
  });

  it('a rule edited into a type error keeps its last good version in force', async () => {
    const next = mesh.policy.nextConfig();
    const broken =
      denier('denyreviews') +
      rule('denyreviews', 'source.labels["app"] == reviews && destination.labels["app"] == "ratings"');
    const file = path.join(mesh.dir.path, 'extra.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace(GOOD.split('---')[2]!, broken.split('---')[2]!));
    const cfg = await withTimeout(next, 10_000, 'reconfiguration');
    const issue = cfg.issues.find((i) => i.resource === 'rule default/denyreviews');
    assert.ok(issue, 'the edited rule is reported');
    assert.equal(issue.keptLastGood, true);
    assert.match(issue.errors[0]!, /^match: 1:25: unknown attribute reviews$/);
    assert.equal(
      outcome(await mesh.check('reviewsV1', 'ratings')).http,
      403,
      'last good version still denies',
    );
  });
});
