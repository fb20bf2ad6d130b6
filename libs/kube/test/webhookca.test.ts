import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  type KubeObject,
  type KubeTestServer,
  kubeRequest,
  patchWebhookCaBundle,
  reconcileWebhookCaBundle,
  startKubeTestServer,
} from '../src/index.js';

let s: KubeTestServer;
before(async () => {
  s = await startKubeTestServer();
});
after(() => s.close());

const PATH = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector';
const b64 = (t: string) => Buffer.from(t).toString('base64');

function injectorConfig(): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'istio-sidecar-injector' },
    webhooks: [
      {
        name: 'sidecar-injector.istio.io',
        clientConfig: {
          service: { name: 'istio-sidecar-injector', namespace: 'istio-system', path: '/inject' },
        },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        namespaceSelector: { matchLabels: { 'istio-injection': 'enabled' } },
      },
      { name: 'other.example.com', clientConfig: { url: 'https://example.com/x', caBundle: b64('OTHER') } },
    ],
  };
}

test('patches the caBundle of the named webhook through a JSON Patch, leaving the rest alone', async () => {
  s.apply(injectorConfig());
  const result = await patchWebhookCaBundle(s.kubeConfig(), {
    kind: 'MutatingWebhookConfiguration',
    name: 'istio-sidecar-injector',
    caPem: 'PEM-1',
    webhooks: ['sidecar-injector.istio.io'],
  });
  assert.deepEqual(result.patched, ['sidecar-injector.istio.io']);
  const patch = s.requests.filter((r) => r.method === 'PATCH' && r.path === PATH);
  assert.equal(patch.length, 1);
  const got = (await kubeRequest(s.kubeConfig(), { method: 'GET', path: PATH })).body as any;
  assert.equal(got.webhooks[0].clientConfig.caBundle, b64('PEM-1'));
  assert.equal(got.webhooks[0].clientConfig.service.path, '/inject', 'service reference kept');
  assert.deepEqual(got.webhooks[0].namespaceSelector, { matchLabels: { 'istio-injection': 'enabled' } });
  assert.equal(got.webhooks[1].clientConfig.caBundle, b64('OTHER'), 'other webhook untouched');

  const again = await patchWebhookCaBundle(s.kubeConfig(), {
    kind: 'MutatingWebhookConfiguration',
    name: 'istio-sidecar-injector',
    caPem: 'PEM-1',
    webhooks: ['sidecar-injector.istio.io'],
  });
  assert.deepEqual(again.patched, [], 'an equal bundle is not written again');
  assert.equal(s.requests.filter((r) => r.method === 'PATCH' && r.path === PATH).length, 1);
});

test('a missing configuration or webhook is a clear error', async () => {
  await assert.rejects(
    patchWebhookCaBundle(s.kubeConfig(), {
      kind: 'ValidatingWebhookConfiguration',
      name: 'istio-galley',
      caPem: 'x',
    }),
    /GET ValidatingWebhookConfiguration istio-galley: HTTP 404/,
  );
  s.apply(injectorConfig());
  await assert.rejects(
    patchWebhookCaBundle(s.kubeConfig(), {
      kind: 'MutatingWebhookConfiguration',
      name: 'istio-sidecar-injector',
      caPem: 'x',
      webhooks: ['nope.istio.io'],
    }),
    /has no webhook nope.istio.io/,
  );
});

test('the test server refuses a JSON Patch whose test fails and changes nothing', async () => {
  s.apply(injectorConfig());
  const res = await kubeRequest(s.kubeConfig(), {
    method: 'PATCH',
    path: PATH,
    contentType: 'application/json-patch+json',
    body: [
      { op: 'test', path: '/webhooks/0/name', value: 'someone-else' },
      { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'eA==' },
    ],
  });
  assert.equal(res.status, 422);
  const got = (await kubeRequest(s.kubeConfig(), { method: 'GET', path: PATH })).body as any;
  assert.equal(got.webhooks[0].clientConfig.caBundle, undefined);
});

test('the reconciler retries until the configuration exists, then follows new PEMs', async () => {
  const name = 'istio-galley';
  const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${name}`;
  const errors: string[] = [];
  const rec = reconcileWebhookCaBundle(s.kubeConfig(), {
    kind: 'ValidatingWebhookConfiguration',
    name,
    onError: (e) => {
      errors.push(e.message);
      if (errors.length === 1) {
        s.apply({
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingWebhookConfiguration',
          metadata: { name },
          webhooks: [{ name: 'pilot.validation.istio.io', clientConfig: {} }],
        });
      }
    },
  });
  rec.update('CA-A');
  await rec.synced();
  assert.equal(errors.length, 1, 'failed once (404), then patched on retry');
  const read = async () =>
    ((await kubeRequest(s.kubeConfig(), { method: 'GET', path })).body as any).webhooks[0].clientConfig
      .caBundle;
  assert.equal(await read(), b64('CA-A'));
  const done = new Promise<void>((resolve) => {
    const r2 = reconcileWebhookCaBundle(s.kubeConfig(), {
      kind: 'ValidatingWebhookConfiguration',
      name,
      onPatched: () => {
        r2.close();
        resolve();
      },
    });
    r2.update('CA-B');
  });
  await done;
  assert.equal(await read(), b64('CA-B'));
  rec.close();
});
