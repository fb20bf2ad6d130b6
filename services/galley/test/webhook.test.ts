import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@keel/runtime';
import { tempDir, withTimeout } from '@keel/testing';
import { createGalley, type Galley } from '../src/index.js';
import { makeTestCerts } from './certs.js';

interface Reply {
  status: number;
  body: any;
}

function post(
  port: number,
  ca: string,
  path: string,
  body: string,
  contentType = 'application/json',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        ca,
        servername: 'localhost',
        agent: false,
        headers: { 'content-type': contentType },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function review(apiVersion: string, uid: string, object: unknown, operation = 'CREATE'): string {
  return JSON.stringify({
    apiVersion,
    kind: 'AdmissionReview',
    request: {
      uid,
      operation,
      namespace: 'default',
      kind: { group: 'networking.istio.io', version: 'v1alpha3', kind: 'VirtualService' },
      object,
    },
  });
}

const goodVs = {
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'VirtualService',
  metadata: { name: 'reviews' },
  spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] },
};
const badVs = { ...goodVs, spec: { hosts: ['foo.ba!r'] } };

describe('galley validating webhook over real HTTPS', () => {
  let galley: Galley;
  let port: number;
  let ca: string;
  let dir: { path: string; cleanup(): Promise<void> };
  let certFiles: { certFile: string; keyFile: string };

  before(async () => {
    dir = await tempDir('galley-webhook-');
    const certs = makeTestCerts(dir.path);
    certFiles = certs;
    ca = certs.ca;
    galley = createGalley({
      configDir: dir.path,
      host: '127.0.0.1',
      mcpPort: 0,
      monitoringPort: 0,
      webhookPort: 0,
      tlsCertFile: certs.certFile,
      tlsKeyFile: certs.keyFile,
      logger: silentLogger,
    });
    port = (await galley.start()).webhookPort!;
  });
  after(async () => {
    await galley.stop();
    await dir.cleanup();
  });

  for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']) {
    it(`${apiVersion}: allows a valid VirtualService and echoes the uid`, async () => {
      const r = await post(port, ca, '/admitpilot', review(apiVersion, 'uid-ok', goodVs));
      assert.equal(r.status, 200);
      assert.equal(r.body.apiVersion, apiVersion);
      assert.equal(r.body.kind, 'AdmissionReview');
      assert.deepEqual(r.body.response, { uid: 'uid-ok', allowed: true });
    });

    it(`${apiVersion}: denies an invalid one with every reason`, async () => {
      const r = await post(port, ca, '/admitpilot', review(apiVersion, 'uid-bad', badVs));
      assert.equal(r.status, 200);
      assert.equal(r.body.response.uid, 'uid-bad');
      assert.equal(r.body.response.allowed, false);
      const msg: string = r.body.response.status.message;
      assert.match(msg, /^configuration is invalid: /);
      assert.match(msg, /domain name "foo.ba!r" invalid/);
      assert.match(msg, /http, tcp or tls must be provided in virtual service/);
    });
  }

  it('routes mixer kinds to /admitmixer only', async () => {
    const rule = {
      apiVersion: 'config.istio.io/v1alpha2',
      kind: 'rule',
      metadata: { name: 'r', namespace: 'istio-system' },
      spec: { badField: 1 },
    };
    const viaMixer = await post(port, ca, '/admitmixer', review('admission.k8s.io/v1', 'm1', rule));
    assert.equal(viaMixer.body.response.allowed, false);
    assert.match(viaMixer.body.response.status.message, /badField/);
    const viaPilot = await post(
      port,
      ca,
      '/admitpilot',
      review('admission.k8s.io/v1', 'm2', { ...rule, spec: {} }),
    );
    assert.equal(viaPilot.body.response.allowed, false);
    assert.match(viaPilot.body.response.status.message, /unrecognized type rule/);
  });

  it('allows deletes without validating', async () => {
    const r = await post(port, ca, '/admitpilot', review('admission.k8s.io/v1', 'del', badVs, 'DELETE'));
    assert.equal(r.body.response.allowed, true);
  });

  it('serves a replaced certificate without a restart', async () => {
    const reloaded = new Promise<void>((resolve) => galley.events.once('certificate', () => resolve()));
    const next = makeTestCerts(join(dir.path, 'next'));
    await rename(next.certFile, certFiles.certFile);
    await rename(next.keyFile, certFiles.keyFile);
    await withTimeout(reloaded, 5000, 'certificate reload');
    const r = await post(port, next.ca, '/admitpilot', review('admission.k8s.io/v1', 'after-reload', goodVs));
    assert.equal(r.body.response.allowed, true, 'the new CA verifies the served certificate');
    await assert.rejects(
      post(port, ca, '/admitpilot', review('admission.k8s.io/v1', 'old-ca', goodVs)),
      /certificate/,
    );
    ca = next.ca;
  });

  it('answers 400 for an empty or malformed body and 415 for a wrong content type', async () => {
    assert.equal((await post(port, ca, '/admitpilot', '')).status, 400);
    assert.equal((await post(port, ca, '/admitpilot', '{not json')).status, 400);
    assert.equal((await post(port, ca, '/admitpilot', '{"kind":"AdmissionReview"}')).status, 400);
    assert.equal(
      (await post(port, ca, '/admitpilot', review('admission.k8s.io/v1', 'x', goodVs), 'text/plain')).status,
      415,
    );
  });
});
