import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  type ConfigError,
  ErrorCode,
  formatError,
  kindFor,
  parseDirectory,
  parseDocuments,
  parseFile,
  validateResource,
  validateResources,
} from '../src/index.js';
import { istioTestdata } from './helpers.js';

const DATASET = istioTestdata('galley', 'testdata', 'validation', 'dataset');

/** Parse + validate a file the way the webhook would (namespace defaulted like kubectl). */
async function check(file: string): Promise<ConfigError[]> {
  const parsed = await parseFile(file);
  const v = validateResources(parsed.resources, { defaultNamespace: 'default' });
  return [...parsed.errors, ...v.errors];
}

test('Galley validation dataset: all 46 files, *-valid accepted and *-invalid rejected', async () => {
  const files = readdirSync(DATASET)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  assert.equal(files.length, 46);
  for (const f of files) {
    const errors = await check(path.join(DATASET, f));
    if (f.endsWith('-valid.yaml')) assert.deepEqual(errors.map(formatError), [], f);
    else {
      assert.ok(f.endsWith('-invalid.yaml'), f);
      assert.ok(errors.length > 0, `${f} should be rejected`);
      assert.ok(
        errors.every((e) => e.code !== ErrorCode.YAML_SYNTAX),
        `${f}: rejected for the right reason`,
      );
    }
  }
});

test('mixer dataset cases are rejected for the documented reason', async () => {
  const msgs = async (f: string) => (await check(path.join(DATASET, f))).map(formatError).join('\n');
  assert.match(
    await msgs('config-v1alpha2-rule-invalid.yaml'),
    /rule default\/invalid-rule: spec\.badField: unknown field "badField"/,
  );
  assert.match(
    await msgs('config-v1alpha2-handler-invalid.yaml'),
    /spec\.compiledAdapter: expected string, got number 0/,
  );
  assert.match(await msgs('config-v1alpha2-instance-invalid.yaml'), /spec\.zarams: unknown field "zarams"/);
  assert.match(
    await msgs('authentication-v1alpha1-MeshPolicy-invalid.yaml'),
    /name must be "default", found "boo"/,
  );
  assert.match(await msgs('rbac-v1alpha1-ServiceRole-invalid.yaml'), /at least 1 rule must be specified/);
  assert.match(await msgs('security-v1beta1-AuthorizationPolicy-invalid.yaml'), /key must not be empty/);
});

test('bookinfo samples validate clean; only non-Istio kinds (Deployment, ClusterIssuer...) are unknown', async () => {
  for (const sub of ['platform/kube', 'networking', 'policy', 'telemetry']) {
    const parsed = await parseDirectory(istioTestdata('samples', 'bookinfo', sub));
    assert.deepEqual(parsed.errors.map(formatError), [], sub);
    assert.ok(parsed.resources.length > 0, sub);
    const known = parsed.resources.filter((r) => kindFor(r.apiVersion, r.kind) !== undefined);
    const unknown = parsed.resources.filter((r) => kindFor(r.apiVersion, r.kind) === undefined);
    for (const r of unknown)
      assert.doesNotMatch(r.apiVersion, /istio\.io\//, `${r.kind} ${r.metadata.name} is an Istio kind`);
    if (sub === 'platform/kube') assert.ok(unknown.some((r) => r.kind === 'Deployment'));
    const errors = known.flatMap((r) => {
      const v = validateResource(r, { defaultNamespace: 'default' });
      return v.ok ? [] : v.errors;
    });
    assert.deepEqual(errors.map(formatError), [], sub);
  }
});

test('conformance inputs parse and validate', async () => {
  const root = istioTestdata('tests', 'integration', 'conformance', 'testdata');
  let count = 0;
  for (const area of readdirSync(root)) {
    for (const kind of readdirSync(path.join(root, area))) {
      const file = path.join(root, area, kind, 'basic', 'input.yaml');
      const parsed = await parseFile(file);
      if (parsed.errors.some((e) => e.code === ErrorCode.READ_FAILED)) continue;
      count++;
      assert.deepEqual(parsed.errors.map(formatError), [], file);
      const known = parsed.resources.filter((r) => kindFor(r.apiVersion, r.kind) !== undefined);
      const errors = validateResources(known, { defaultNamespace: 'default' }).errors;
      assert.deepEqual(errors.map(formatError), [], file);
    }
  }
  assert.ok(count >= 20, `only ${count} conformance inputs found`);
});

function one(yaml: string) {
  const r = parseDocuments(yaml, 'x.yaml');
  assert.deepEqual(r.errors, []);
  return r.resources[0]!;
}

test('top-level checks report every error at once, each carrying kind/namespace/name/source', () => {
  const res = one(`apiVersion: rbac.istio.io/v1alpha1
kind: ServiceRole
metadata:
  name: Bad_Name
  namespace: ns1
spec:
  rules: []
  extraSpecField: 1
unexpected: true
`);
  const r = validateResource(res);
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.map((e) => e.code).sort(), [
    ErrorCode.INVALID_NAME,
    ErrorCode.INVALID_SPEC,
    ErrorCode.INVALID_SPEC,
    ErrorCode.UNKNOWN_TOP_LEVEL_FIELD,
  ]);
  for (const e of r.errors) {
    assert.equal(e.kind, 'ServiceRole');
    assert.equal(e.namespace, 'ns1');
    assert.equal(e.name, 'Bad_Name');
    assert.deepEqual(e.source, { file: 'x.yaml', line: 1 });
  }
  assert.ok(
    r.errors
      .map(formatError)
      .includes('x.yaml:1 ServiceRole ns1/Bad_Name: unexpected: unknown top-level field "unexpected"'),
  );
});

test('unknown kind, missing name and missing namespace', () => {
  const unknown = validateResource(one('apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n'));
  assert.ok(!unknown.ok);
  assert.deepEqual(
    unknown.errors.map((e) => e.code),
    [ErrorCode.UNKNOWN_KIND],
  );
  const noName = validateResource(one('apiVersion: v1\nkind: Namespace\nmetadata: {}\n'));
  assert.ok(!noName.ok);
  assert.deepEqual(
    noName.errors.map((e) => e.code),
    [ErrorCode.MISSING_NAME],
  );
  const rule = one(
    'apiVersion: config.istio.io/v1alpha2\nkind: rule\nmetadata: {name: r}\nspec: {match: "true"}\n',
  );
  const noNs = validateResource(rule);
  assert.ok(!noNs.ok);
  assert.deepEqual(
    noNs.errors.map((e) => e.code),
    [ErrorCode.MISSING_NAMESPACE],
  );
  const defaulted = validateResource(rule, { defaultNamespace: 'default' });
  assert.ok(defaulted.ok);
  assert.equal(defaulted.value.metadata.namespace, 'default');
  assert.equal(rule.metadata.namespace, undefined, 'input not modified');
});

test('cluster-scoped kinds never get a namespace', () => {
  const r = validateResource(
    one(
      'apiVersion: rbac.istio.io/v1alpha1\nkind: ClusterRbacConfig\nmetadata: {name: default, namespace: x}\nspec: {mode: "OFF"}\n',
    ),
    { defaultNamespace: 'default' },
  );
  assert.ok(r.ok);
  assert.equal(r.value.metadata.namespace, undefined);
});

test('duplicates in one input set are reported', () => {
  const parsed = parseDocuments(
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n',
    'd.yaml',
  );
  const v = validateResources(parsed.resources);
  assert.equal(v.valid.length, 1);
  assert.deepEqual(
    v.errors.map((e) => [e.code, e.source?.line]),
    [[ErrorCode.DUPLICATE_RESOURCE, 5]],
  );
});

test('core kinds: Service port range and Endpoints shape', () => {
  const svc = validateResource(
    one(
      'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: n}\nspec:\n  ports:\n  - {port: 70000}\n  - {port: 80, protocol: TCP}\n',
    ),
  );
  assert.ok(!svc.ok);
  assert.deepEqual(
    svc.errors.map((e) => e.field),
    ['spec.ports[0].port'],
  );
  const ep = validateResource(
    one(
      'apiVersion: v1\nkind: Endpoints\nmetadata: {name: e, namespace: n}\nsubsets:\n- addresses: [{}]\n  ports: [{port: 0}]\n',
    ),
  );
  assert.ok(!ep.ok);
  assert.deepEqual(
    ep.errors.map((e) => e.field),
    ['subsets[0].addresses[0].ip', 'subsets[0].ports[0].port'],
  );
});

test('spec validators: authn, rbac, authz, mixer client', () => {
  const errs = (yaml: string) => {
    const r = validateResource(one(yaml), { defaultNamespace: 'default' });
    return r.ok ? [] : r.errors.map((e) => `${e.field ?? ''}: ${e.message}`);
  };
  assert.deepEqual(
    errs(
      'apiVersion: authentication.istio.io/v1alpha1\nkind: Policy\nmetadata: {name: p}\nspec:\n  targets: [{name: a, ports: [{number: 0}]}]\n  origins: [{jwt: {jwksUri: "not a url"}}]\n  peers: [{mtls: {mode: SOMETIMES}}]\n',
    ),
    [
      'spec.peers[0].mtls.mode: invalid value "SOMETIMES", expected one of STRICT, PERMISSIVE',
      'spec.targets[0].ports[0].number: port number 0 must be in the range 1..65535',
      'spec.origins[0].jwt.issuer: issuer must be set',
      'spec.origins[0].jwt.jwksUri: invalid jwks uri "not a url"',
    ],
  );
  assert.deepEqual(
    errs(
      'apiVersion: rbac.istio.io/v1alpha1\nkind: ServiceRoleBinding\nmetadata: {name: b}\nspec:\n  subjects: [{}]\n  roleRef: {kind: Role, name: ""}\n',
    ),
    [
      'spec.subjects[0]: empty subjects are not allowed',
      'spec.roleRef.kind: kind set to "Role", currently the only supported value is "ServiceRole"',
      'spec.roleRef.name: name cannot be empty',
    ],
  );
  assert.deepEqual(
    errs(
      'apiVersion: security.istio.io/v1beta1\nkind: AuthorizationPolicy\nmetadata: {name: a}\nspec:\n  rules:\n  - from: []\n    when: [{key: source.ip, values: ["10.0.0.0/33"]}, {key: foo.bar, values: [x]}]\n',
    ),
    [
      'spec.rules[0].from: `from` must not be empty',
      'spec.rules[0].when[0].values: invalid IP address or CIDR range "10.0.0.0/33"',
      'spec.rules[0].when[1].key: unknown attribute (foo.bar)',
    ],
  );
  assert.deepEqual(
    errs(
      'apiVersion: config.istio.io/v1alpha2\nkind: QuotaSpec\nmetadata: {name: q}\nspec:\n  rules: [{quotas: [{quota: rq, charge: 0}]}]\n',
    ),
    ['spec.rules[0].quotas[0].charge: quota rq charge must be greater than 0'],
  );
  assert.deepEqual(
    errs(
      'apiVersion: config.istio.io/v1alpha2\nkind: prometheus\nmetadata: {name: h}\nspec: {anything: [1, {x: 2}]}\n',
    ),
    [],
  );
});
