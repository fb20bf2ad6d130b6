import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controlPlaneSecurityEnabled, ErrorCode, meshConfigDefaults, parseMeshConfig } from '../src/index.js';

test('defaults follow the code defaults of the spec', () => {
  const d = meshConfigDefaults();
  assert.equal(d.proxyListenPort, 15001);
  assert.equal(d.connectTimeout, '1s');
  assert.equal(d.disablePolicyChecks, true);
  assert.equal(d.rootNamespace, 'istio-system');
  assert.equal(d.outboundTrafficPolicy.mode, 'ALLOW_ANY');
  assert.deepEqual(d.defaultServiceExportTo, ['*']);
  assert.equal(d.defaultConfig.discoveryAddress, 'istio-pilot:15010');
  assert.equal(d.defaultConfig.statNameLength, 189);
  d.defaultConfig.concurrency = 7;
  assert.equal(meshConfigDefaults().defaultConfig.concurrency, 0, 'each call returns a fresh object');
});

test('parseMeshConfig merges over defaults; defaultConfig merges field by field', () => {
  const yaml = `
connectTimeout: 10s
accessLogFile: ""
disablePolicyChecks: false
mixerCheckServer: istio-policy.istio-system.svc.cluster.local:9091
outboundTrafficPolicy:
  mode: REGISTRY_ONLY
configSources:
- address: istio-galley.istio-system.svc:9901
  tlsSettings: {mode: ISTIO_MUTUAL}
defaultConfig:
  discoveryAddress: istio-pilot.istio-system:15011
  controlPlaneAuthPolicy: MUTUAL_TLS
  concurrency: 2
`;
  const r = parseMeshConfig(yaml, 'mesh');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.equal(r.value.connectTimeout, '10s');
  assert.equal(r.value.accessLogFile, '');
  assert.equal(r.value.disablePolicyChecks, false);
  assert.equal(r.value.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
  assert.equal(r.value.configSources?.[0]?.address, 'istio-galley.istio-system.svc:9901');
  assert.equal(r.value.rootNamespace, 'istio-system');
  assert.equal(r.value.defaultConfig.discoveryAddress, 'istio-pilot.istio-system:15011');
  assert.equal(r.value.defaultConfig.concurrency, 2);
  assert.equal(r.value.defaultConfig.binaryPath, '/usr/local/bin/envoy');
});

test('an empty mesh config is the defaults', () => {
  const r = parseMeshConfig('');
  assert.ok(r.ok);
  assert.deepEqual(r.value, meshConfigDefaults());
});

test('wrong types, bad enums and unknown fields are all reported', () => {
  const r = parseMeshConfig(
    'outboundTrafficPolicy: {mode: SOMETIMES}\ndisablePolicyChecks: "yes"\nconnectTimeout: 10\nnotAField: 1\ndefaultConfig: {proxyAdminPort: abc}\n',
    'mesh',
  );
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.map((e) => e.field).sort(), [
    'connectTimeout',
    'defaultConfig.proxyAdminPort',
    'disablePolicyChecks',
    'notAField',
    'outboundTrafficPolicy.mode',
  ]);
  assert.ok(r.errors.every((e) => e.code === ErrorCode.INVALID_MESH_CONFIG && e.source?.file === 'mesh'));
});

test('YAML syntax errors are values', () => {
  const r = parseMeshConfig('a: [\n');
  assert.ok(!r.ok);
  assert.equal(r.errors[0]?.code, ErrorCode.YAML_SYNTAX);
});

test('controlPlaneSecurityEnabled: the explicit field, else controlPlaneAuthPolicy MUTUAL_TLS', () => {
  const on = (yaml: string) => {
    const r = parseMeshConfig(yaml);
    assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
    return controlPlaneSecurityEnabled(r.value);
  };
  assert.equal(on(''), false);
  assert.equal(on('controlPlaneSecurityEnabled: true'), true);
  assert.equal(on('defaultConfig: {controlPlaneAuthPolicy: MUTUAL_TLS}'), true);
  assert.equal(
    on('controlPlaneSecurityEnabled: false\ndefaultConfig: {controlPlaneAuthPolicy: MUTUAL_TLS}'),
    false,
  );
  const bad = parseMeshConfig('controlPlaneSecurityEnabled: 1');
  assert.equal(bad.ok, false);
});
