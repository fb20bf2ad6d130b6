// The injector as a server: real HTTPS with a test CA, AdmissionReview v1 and v1beta1, JSON Patches
// applied with fast-json-patch, HTTP errors, certificate and template hot reload, caBundle
// self-registration against libs/kube's test API server, and the monitoring port.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type KubeTestServer, kubeRequest, startKubeTestServer } from '@keel/kube';
import { silentLogger } from '@keel/runtime';
import { type TempDir, tempDir, withTimeout } from '@keel/testing';
import fastJsonPatch from 'fast-json-patch';
import { createSidecarInjector, injectObject, MAX_BODY, type SidecarInjector } from '../src/index.js';
import { makeCerts, type TestCerts } from './certs.js';
import { fixture, type Obj, replicaSetPod, shippedConfig } from './helpers.js';

interface Reply {
  status: number;
  body: any;
}

function post(
  port: number,
  ca: string,
  body: string | Buffer,
  contentType = 'application/json',
  path = '/inject',
) {
  return new Promise<Reply>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        ca,
        servername: 'istio-sidecar-injector.istio-system.svc',
        agent: new Agent({ ca }),
        headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const review = (apiVersion: string, object: unknown, namespace = 'bookinfo') =>
  JSON.stringify({
    apiVersion,
    kind: 'AdmissionReview',
    request: {
      uid: `uid-${apiVersion}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object,
    },
  });

const WEBHOOK_PATH =
  '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector';

async function webhookClientConfig(kube: KubeTestServer): Promise<Obj> {
  const res = await kubeRequest(kube.kubeConfig(), { method: 'GET', path: WEBHOOK_PATH });
  return (res.body as Obj).webhooks[0].clientConfig;
}

describe('sidecar-injector server', () => {
  let dir: TempDir;
  let certs: TestCerts;
  let kube: KubeTestServer;
  let injector: SidecarInjector;
  let port: number;
  let monitoringPort: number;
  let registered: Promise<unknown>;

  before(async () => {
    dir = await tempDir('injector');
    certs = makeCerts(join(dir.path, 'certs'));
    copyFileSync(join(dir.path, 'certs/ca.crt'), join(dir.path, 'certs/root-cert.pem'));
    copyFileSync(shippedConfig, join(dir.path, 'config'));
    copyFileSync(fixture('unittest-values.json'), join(dir.path, 'values'));
    kube = await startKubeTestServer();
    kube.apply({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'istio-sidecar-injector' },
      webhooks: [
        {
          name: 'sidecar-injector.istio.io',
          clientConfig: {
            service: { name: 'istio-sidecar-injector', namespace: 'istio-system', path: '/inject' },
          },
        },
      ],
    });
    injector = createSidecarInjector({
      host: '127.0.0.1',
      port: 0,
      monitoringPort: 0,
      tlsCertFile: join(dir.path, 'certs/cert-chain.pem'),
      tlsKeyFile: join(dir.path, 'certs/key.pem'),
      caCertFile: join(dir.path, 'certs/root-cert.pem'),
      configFile: join(dir.path, 'config'),
      valuesFile: join(dir.path, 'values'),
      kubeConfig: kube.kubeConfig(),
      logger: silentLogger,
    });
    registered = new Promise((resolve) => injector.events.once('caBundle', resolve));
    ({ port, monitoringPort } = await injector.start());
  });
  after(async () => {
    await injector?.stop();
    await kube?.close();
    await dir?.cleanup();
  });

  for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']) {
    it(`${apiVersion}: the JSON Patch applied to the pod gives the injected pod`, async () => {
      const pod = replicaSetPod();
      const r = await post(port, certs.ca, review(apiVersion, pod));
      assert.equal(r.status, 200);
      assert.equal(r.body.apiVersion, apiVersion);
      assert.equal(r.body.kind, 'AdmissionReview');
      assert.equal(r.body.response.uid, `uid-${apiVersion}`);
      assert.equal(r.body.response.allowed, true);
      assert.equal(r.body.response.patchType, 'JSONPatch');
      const patch = JSON.parse(Buffer.from(r.body.response.patch, 'base64').toString('utf8'));
      const got = fastJsonPatch.applyPatch(structuredClone(pod), patch, true, false).newDocument as Obj;
      // The offline path (checked against Istio's testdata) on the same pod gives the same result.
      const offline = injectObject(injector.current(), { ...pod, metadata: { ...pod.metadata } });
      assert.ok(offline.ok);
      const owner = (p: Obj) =>
        p.spec.containers[1].env.find((e: Obj) => e.name === 'ISTIO_META_OWNER')?.value;
      assert.equal(owner(got), 'kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/reviews-v1');
      assert.deepEqual(got.spec.initContainers, offline.value.object.spec.initContainers);
      assert.deepEqual(got.spec.volumes, offline.value.object.spec.volumes);
      assert.deepEqual(got.metadata.annotations, offline.value.object.metadata.annotations);
      assert.deepEqual(
        got.spec.containers.map((c: Obj) => c.name),
        ['reviews', 'istio-proxy'],
      );
      assert.equal(got.metadata.labels['security.istio.io/tlsMode'], 'istio');
      // Sent back through the webhook, the injected pod gets no patch.
      const again = await post(port, certs.ca, review(apiVersion, got));
      assert.equal(again.body.response.allowed, true);
      assert.equal(again.body.response.patch, undefined);
    });
  }

  it('a pod that must not be injected is allowed unchanged', async () => {
    for (const [pod, ns] of [
      [replicaSetPod({ annotations: { 'sidecar.istio.io/inject': 'false' } }), 'bookinfo'],
      [replicaSetPod(), 'kube-system'],
    ] as const) {
      const r = await post(port, certs.ca, review('admission.k8s.io/v1', pod, ns));
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.response, { uid: 'uid-admission.k8s.io/v1', allowed: true });
    }
  });

  it('bad requests get 400, 415, 405, 404 or 413 with a reason', async () => {
    const bad = await post(port, certs.ca, '{"apiVersion": ');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /malformed JSON/);
    const notReview = await post(port, certs.ca, JSON.stringify({ kind: 'Pod' }));
    assert.equal(notReview.status, 400);
    assert.match(notReview.body.error, /kind must be AdmissionReview/);
    const empty = await post(port, certs.ca, '');
    assert.equal(empty.status, 400);
    const type = await post(port, certs.ca, review('admission.k8s.io/v1', replicaSetPod()), 'text/plain');
    assert.equal(type.status, 415);
    assert.match(type.body.error, /text\/plain is not application\/json/);
    const path = await post(port, certs.ca, '{}', 'application/json', '/mutate');
    assert.equal(path.status, 404);
    const big = await post(port, certs.ca, Buffer.alloc(MAX_BODY + 1, 32));
    assert.equal(big.status, 413);
    const noSpec = await post(port, certs.ca, review('admission.k8s.io/v1', { metadata: {} }));
    assert.equal(noSpec.status, 200);
    assert.equal(noSpec.body.response.allowed, false);
    assert.match(noSpec.body.response.status.message, /not a pod/);
  });

  it('patches its MutatingWebhookConfiguration caBundle with the CA', async () => {
    const b64 = Buffer.from(certs.ca).toString('base64');
    await withTimeout(registered, 5000, 'caBundle registration');
    const cc = await webhookClientConfig(kube);
    assert.equal(cc.caBundle, b64);
    assert.equal(cc.service.path, '/inject');
  });

  it('serves /metrics with the sidecar_injection counters, and /ready', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${monitoringPort}/metrics`)).text();
    for (const name of ['requests', 'success', 'failure', 'skip']) {
      assert.match(metrics, new RegExp(`^sidecar_injection_${name}_total [1-9]`, 'm'), name);
    }
    assert.match(metrics, /^sidecar_injection_http_errors_total\{status="415"\} 1/m);
    assert.equal((await fetch(`http://127.0.0.1:${monitoringPort}/ready`)).status, 200);
  });

  it('reloads the values file: the next injection uses the new image', async () => {
    const reloaded = new Promise<void>((resolve) => injector.events.once('config', () => resolve()));
    const values = JSON.parse(JSON.stringify(injector.current().values));
    values.global.tag = '1.4.10-reloaded';
    writeFileSync(join(dir.path, 'values'), JSON.stringify(values));
    await withTimeout(reloaded, 5000, 'values reload');
    const r = await post(port, certs.ca, review('admission.k8s.io/v1', replicaSetPod()));
    const patch = JSON.parse(Buffer.from(r.body.response.patch, 'base64').toString('utf8'));
    const got = fastJsonPatch.applyPatch(replicaSetPod(), patch, true, false).newDocument as Obj;
    assert.equal(got.spec.containers[1].image, 'docker.io/istio/proxyv2:1.4.10-reloaded');
    // A broken template keeps the last good one.
    writeFileSync(join(dir.path, 'config'), 'policy: enabled\ntemplate: "{{#if x}}"\n');
    const still = await post(port, certs.ca, review('admission.k8s.io/v1', replicaSetPod()));
    assert.equal(still.body.response.allowed, true);
    assert.ok(still.body.response.patch);
  });

  it('serves a replaced certificate without a restart and re-registers the new CA', async () => {
    const reloaded = new Promise<void>((resolve) => injector.events.once('certificate', () => resolve()));
    const reRegistered = new Promise((resolve) => injector.events.once('caBundle', resolve));
    const next = makeCerts(join(dir.path, 'next'), 'keel-injector-test-ca-2');
    copyFileSync(join(dir.path, 'next/ca.crt'), join(dir.path, 'certs/root-cert.pem'));
    copyFileSync(join(dir.path, 'next/key.pem'), join(dir.path, 'certs/key.pem'));
    copyFileSync(join(dir.path, 'next/cert-chain.pem'), join(dir.path, 'certs/cert-chain.pem'));
    await withTimeout(reloaded, 5000, 'certificate reload');
    const r = await post(port, next.ca, review('admission.k8s.io/v1beta1', replicaSetPod()));
    assert.equal(r.status, 200);
    await assert.rejects(post(port, certs.ca, review('admission.k8s.io/v1beta1', replicaSetPod())));
    await withTimeout(reRegistered, 5000, 'caBundle re-registration');
    assert.equal((await webhookClientConfig(kube)).caBundle, Buffer.from(next.ca).toString('base64'));
  });
});
