// The mixers' binaries follow the mesh config's control-plane security switch: on with
// controlPlaneSecurityEnabled, they need certificates (--cert-dir, else /etc/certs) and exit with an
// error naming the missing files; with them they serve 15004.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, repoRoot, startProcess, type TempDir, tempDir } from '@keel/testing';

const MAINS = {
  'mixer-policy': 'services/mixer-policy/dist/src/main.js',
  'mixer-telemetry': 'services/mixer-telemetry/dist/src/main.js',
};

describe('mixers: controlPlaneSecurityEnabled in --mesh-config', () => {
  let dir: TempDir;
  let mesh: string;
  before(async () => {
    dir = await tempDir('mixer-switch');
    mesh = path.join(dir.path, 'mesh.yaml');
    writeFileSync(mesh, 'rootNamespace: istio-system\ncontrolPlaneSecurityEnabled: true\n');
  });
  after(() => dir?.cleanup());

  for (const [name, main] of Object.entries(MAINS)) {
    it(`${name} exits at start-up naming the certificate files it lacks`, async (t) => {
      if (existsSync('/etc/certs/cert-chain.pem')) return t.skip('this machine has /etc/certs');
      const nothing = await freePort();
      const p = await startProcess(process.execPath, [path.join(repoRoot(), main), '--mesh-config', mesh], {
        env: { KEEL_MCP_ADDRESS: `127.0.0.1:${nothing}`, KEEL_GRPC_PORT: '0', KEEL_MONITORING_PORT: '0' },
      });
      assert.equal(await p.exited, 2);
      assert.match(
        p.stderrLines.join('\n'),
        new RegExp(
          `${name}: control-plane security is on \\(controlPlaneSecurityEnabled in .*mesh\\.yaml\\) but /etc/certs/cert-chain\\.pem`,
        ),
      );
    });
  }

  it('refuses a mesh config whose switch is not a boolean', async () => {
    const bad = path.join(dir.path, 'bad.yaml');
    writeFileSync(bad, 'controlPlaneSecurityEnabled: sometimes\n');
    const p = await startProcess(process.execPath, [
      path.join(repoRoot(), MAINS['mixer-policy']),
      '--mesh-config',
      bad,
    ]);
    assert.equal(await p.exited, 2);
    assert.match(p.stderrLines.join('\n'), /bad\.yaml: controlPlaneSecurityEnabled: expected bool/);
  });
});
