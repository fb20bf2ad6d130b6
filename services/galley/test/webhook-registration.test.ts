// Galley's webhook self-registration (Istio 1.4): the galley process, run with --kubeconfig and a
// serving certificate, patches its ValidatingWebhookConfiguration's caBundle with the CA.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { kinds } from '@keel/config';
import { type KubeTestServer, kubeRequest, startKubeTestServer } from '@keel/kube';
import { type RunningProcess, repoRoot, startProcess, type TempDir, tempDir } from '@keel/testing';
import { makeTestCerts } from './certs.js';

let kube: KubeTestServer;
let dir: TempDir;
let galley: RunningProcess | undefined;

before(async () => {
  kube = await startKubeTestServer();
  for (const k of kinds) {
    if (k.group === '') continue;
    kube.registerKind({
      group: k.group,
      version: k.version,
      kind: k.kind,
      plural: k.plural,
      namespaced: !k.clusterScoped,
    });
  }
  kube.apply({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'istio-galley' },
    webhooks: [
      {
        name: 'pilot.validation.istio.io',
        clientConfig: { service: { name: 'istio-galley', path: '/admitpilot' } },
      },
      {
        name: 'mixer.validation.istio.io',
        clientConfig: { service: { name: 'istio-galley', path: '/admitmixer' } },
      },
    ],
  });
  dir = await tempDir('galley-registration');
});
after(async () => {
  await galley?.stop();
  await kube.close();
  await dir.cleanup();
});

it('patches the caBundle of both validation webhooks with the CA file', async () => {
  const certs = makeTestCerts(join(dir.path, 'certs'));
  const caFile = join(dir.path, 'certs/ca.crt');
  const kubeconfig = join(dir.path, 'kubeconfig');
  writeFileSync(kubeconfig, kube.kubeConfig().exportConfig());
  galley = await startProcess(
    process.execPath,
    [
      join(repoRoot(), 'services/galley/dist/src/main.js'),
      '--kubeconfig',
      kubeconfig,
      '--host',
      '127.0.0.1',
      '--mcp-port',
      '0',
      '--webhook-port',
      '0',
      '--monitoring-port',
      '0',
      '--tls-cert',
      certs.certFile,
      '--tls-key',
      certs.keyFile,
      '--ca-cert',
      caFile,
    ],
    { readyLine: /webhook caBundle patched/, timeoutMs: 30_000 },
  );
  const res = await kubeRequest(kube.kubeConfig(), {
    method: 'GET',
    path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/istio-galley',
  });
  const hooks = (res.body as { webhooks: { clientConfig: { caBundle?: string; service: unknown } }[] })
    .webhooks;
  const b64 = Buffer.from(certs.ca).toString('base64');
  assert.deepEqual(
    hooks.map((h) => h.clientConfig.caBundle),
    [b64, b64],
  );
  assert.deepEqual(hooks[0]!.clientConfig.service, { name: 'istio-galley', path: '/admitpilot' });
});
