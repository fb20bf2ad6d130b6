// The control-plane security switch: --cert-dir, or the mesh config's controlPlaneSecurityEnabled /
// defaultConfig.controlPlaneAuthPolicy MUTUAL_TLS; clear errors for a bad mesh config or missing files.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type TempDir, tempDir } from '@keel/testing';
import { controlPlaneCertDir, controlPlaneTls, DEFAULT_CERT_DIR } from '../src/index.js';

describe('controlPlaneCertDir', () => {
  let dir: TempDir;
  const file = (name: string, text: string) => {
    const p = path.join(dir.path, name);
    writeFileSync(p, text);
    return p;
  };
  let certs: string;
  before(async () => {
    dir = await tempDir('cp-security');
    certs = path.join(dir.path, 'certs');
    mkdirSync(certs);
    for (const f of ['cert-chain.pem', 'key.pem', 'root-cert.pem']) writeFileSync(path.join(certs, f), 'x');
  });
  after(() => dir?.cleanup());

  it('is off with neither flag nor mesh switch, and with the mesh switch off', () => {
    assert.deepEqual(controlPlaneCertDir({}), { ok: true, value: undefined });
    const off = file(
      'off.yaml',
      'controlPlaneSecurityEnabled: false\ndefaultConfig: {controlPlaneAuthPolicy: MUTUAL_TLS}\n',
    );
    assert.deepEqual(controlPlaneCertDir({ meshConfigFile: off }), { ok: true, value: undefined });
    const plain = file('plain.yaml', 'defaultConfig: {controlPlaneAuthPolicy: NONE}\n');
    assert.deepEqual(controlPlaneCertDir({ meshConfigFile: plain }), { ok: true, value: undefined });
  });

  it('--cert-dir alone turns it on', () => {
    assert.deepEqual(controlPlaneCertDir({ certDir: certs }), {
      ok: true,
      value: { certDir: certs, byMeshConfig: false },
    });
  });

  it('the mesh config turns it on: controlPlaneSecurityEnabled or controlPlaneAuthPolicy MUTUAL_TLS', () => {
    const on = file('on.yaml', 'controlPlaneSecurityEnabled: true\n');
    const helm = file(
      'helm.yaml',
      'defaultConfig:\n  discoveryAddress: istio-pilot.istio-system:15011\n  controlPlaneAuthPolicy: MUTUAL_TLS\n',
    );
    for (const meshConfigFile of [on, helm])
      assert.deepEqual(controlPlaneCertDir({ certDir: certs, meshConfigFile }), {
        ok: true,
        value: { certDir: certs, byMeshConfig: true },
      });
  });

  it('on by the mesh config without --cert-dir, /etc/certs must hold the files', (t) => {
    if (existsSync(path.join(DEFAULT_CERT_DIR, 'cert-chain.pem')))
      return t.skip('this machine has /etc/certs');
    const r = controlPlaneCertDir({
      meshConfigFile: file('on2.yaml', 'controlPlaneSecurityEnabled: true\n'),
    });
    assert.equal(r.ok, false);
    assert.match(
      r.ok ? '' : r.errors,
      /controlPlaneSecurityEnabled in .*on2\.yaml.*\/etc\/certs\/cert-chain\.pem.*--cert-dir/,
    );
  });

  it('names a missing cert file, an unreadable mesh config and a wrong field type', () => {
    const r = controlPlaneCertDir({ certDir: path.join(dir.path, 'nowhere') });
    assert.match(
      r.ok ? '' : r.errors,
      /--cert-dir.*nowhere\/cert-chain\.pem, .*key\.pem, .*root-cert\.pem cannot be read/,
    );
    const gone = controlPlaneCertDir({ meshConfigFile: path.join(dir.path, 'absent.yaml') });
    assert.match(gone.ok ? '' : gone.errors, /mesh config .*absent\.yaml: ENOENT/);
    const bad = controlPlaneCertDir({
      meshConfigFile: file('bad.yaml', 'controlPlaneSecurityEnabled: "yes"\n'),
    });
    assert.match(bad.ok ? '' : bad.errors, /mesh config .*bad\.yaml: .*controlPlaneSecurityEnabled/);
  });

  it('controlPlaneTls: off, serving only (--cert-dir), and Galley mTLS when asked or required by the mesh config', () => {
    const base = { trustDomain: 'example.org', securePort: 15011 };
    assert.deepEqual(controlPlaneTls(base), { ok: true, value: {} });
    const secure = { port: 15011, certDir: certs, trustDomain: 'example.org' };
    assert.deepEqual(controlPlaneTls({ ...base, certDir: certs }), { ok: true, value: { secure } });
    const galley = 'spiffe://example.org/ns/istio-system/sa/istio-galley-service-account';
    assert.deepEqual(controlPlaneTls({ ...base, certDir: certs, mcpTls: true }), {
      ok: true,
      value: { secure, mcpTls: { certDir: certs, galleyIdentity: galley } },
    });
    const byMesh = controlPlaneTls({
      ...base,
      certDir: certs,
      meshConfigFile: file('on3.yaml', 'controlPlaneSecurityEnabled: true\n'),
      galleyIdentity: 'spiffe://example.org/ns/x/sa/galley',
    });
    assert.deepEqual(byMesh, {
      ok: true,
      value: { secure, mcpTls: { certDir: certs, galleyIdentity: 'spiffe://example.org/ns/x/sa/galley' } },
    });
    const missing = controlPlaneTls({ ...base, certDir: path.join(dir.path, 'none') });
    assert.equal(missing.ok, false);
  });
});
