// Kubernetes mode against libs/kube's list/watch test server: istio-ca-secret, TokenReview,
// the istio.<sa> secret controller with two replicas and one leader.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { type KubeObject, type KubeTestServer, startKubeTestServer } from '@keel/kube';
import {
  CaClient,
  CertificateAuthority,
  createCsr,
  createSelfSignedCa,
  generateKey,
  spiffeIdsOf,
  subjectAltNames,
} from '@keel/pki';
import { silentLogger } from '@keel/runtime';
import { waitFor } from '@keel/testing';
import { Registry } from 'prom-client';
import { type Citadel, createCitadel, createSecretController, SECRET_TYPE } from '../src/index.js';
import { citadelMetrics } from '../src/metrics.js';

const SA_KIND = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  namespaced: true,
};
const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});
const sa = (namespace: string, name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name, namespace },
});
const secretRef = (namespace: string, name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
});

async function getObject(
  s: KubeTestServer,
  path: string,
): Promise<(KubeObject & { data?: Record<string, string>; type?: string }) | undefined> {
  const res = await fetch(`${s.url}${path}`);
  return res.status === 200 ? ((await res.json()) as KubeObject) : undefined;
}
const secretPath = (namespace: string, name: string) => `/api/v1/namespaces/${namespace}/secrets/${name}`;
const pem = (s: { data?: Record<string, string> } | undefined, key: string) =>
  Buffer.from(s?.data?.[key] ?? '', 'base64').toString('utf8');

describe('citadel in Kubernetes mode', () => {
  let kube: KubeTestServer;
  const citadels: Citadel[] = [];
  const ports: { grpcPort: number; monitoringPort: number }[] = [];
  const make = (podName: string) =>
    createCitadel({
      host: '127.0.0.1',
      grpcPort: 0,
      monitoringPort: 0,
      kubeConfig: kube.kubeConfig(),
      podName,
      resyncMs: 300,
      lease: { durationMs: 600, renewMs: 100 },
      logger: silentLogger,
    });
  const leader = () => citadels.find((c) => c.secretController()?.isLeader());

  before(async () => {
    kube = await startKubeTestServer({
      kinds: [SA_KIND],
      tokenReview: (token, audiences) =>
        token === 'jwt-ns1-sa1' && audiences.includes('istio-ca')
          ? { authenticated: true, user: { username: 'system:serviceaccount:ns1:sa1' } }
          : { authenticated: false, error: 'invalid bearer token' },
    });
    kube.apply(ns('istio-system'));
    kube.apply(ns('ns1'));
    kube.apply(ns('ns2', { 'ca.istio.io/override': 'false' }));
    kube.apply(sa('ns1', 'sa1'));
    kube.apply(sa('ns2', 'sa2'));
    // Both replicas start together: one creates istio-ca-secret, the other adopts it.
    citadels.push(make('citadel-a'), make('citadel-b'));
    ports.push(...(await Promise.all(citadels.map((c) => c.start()))));
  });
  after(async () => {
    for (const c of citadels) await c.stop();
    await kube.close();
  });

  it('keeps the root in istio-ca-secret (both replicas sign with it) and publishes istio-security', async () => {
    const stored = await getObject(kube, secretPath('istio-system', 'istio-ca-secret'));
    assert.equal(stored?.type, 'istio.io/ca-root');
    assert.equal(pem(stored, 'ca-cert.pem'), citadels[0]!.authority().rootPem());
    assert.equal(citadels[1]!.authority().rootPem(), citadels[0]!.authority().rootPem());
    assert.match(pem(stored, 'ca-key.pem'), /PRIVATE KEY/);
    const cm = await getObject(kube, '/api/v1/namespaces/istio-system/configmaps/istio-security');
    assert.equal(
      (cm as { data?: Record<string, string> }).data?.caTLSRootCert,
      citadels[0]!.authority().rootPem(),
    );
  });

  it('authenticates service-account JWTs with TokenReview', async () => {
    const key = await generateKey({ algorithm: 'ECDSA' });
    const client = new CaClient({
      address: `127.0.0.1:${ports[1]!.grpcPort}`,
      rootPem: citadels[1]!.authority().rootPem(),
    });
    const chain = await client.createCertificate({ csrPem: createCsr({ key }), token: 'jwt-ns1-sa1' });
    assert.deepEqual(spiffeIdsOf(new X509Certificate(chain[0]!)), ['spiffe://cluster.local/ns/ns1/sa/sa1']);
    const refused = await client.createCertificate({ csrPem: createCsr({ key }), token: 'forged' }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    client.close();
    assert.equal(refused?.code, grpc.status.UNAUTHENTICATED);
    assert.match(refused?.details ?? '', /token rejected by TokenReview: invalid bearer token/);
    assert.ok(kube.requests.some((r) => r.method === 'POST' && r.path.endsWith('/tokenreviews')));
  });

  it('elects one leader, which writes istio.<sa> for enabled namespaces only', async () => {
    await waitFor(() => leader() !== undefined, { timeoutMs: 5000 });
    assert.equal(citadels.filter((c) => c.secretController()?.isLeader()).length, 1);
    await waitFor(async () => (await getObject(kube, secretPath('ns1', 'istio.sa1'))) !== undefined, {
      timeoutMs: 5000,
    });
    const s = await getObject(kube, secretPath('ns1', 'istio.sa1'));
    assert.equal(s?.type, SECRET_TYPE);
    assert.equal(
      (s?.metadata?.annotations as Record<string, string> | undefined)?.['istio.io/service-account.name'],
      'sa1',
    );
    const leaf = new X509Certificate(pem(s, 'cert-chain.pem'));
    assert.deepEqual(spiffeIdsOf(leaf), ['spiffe://cluster.local/ns/ns1/sa/sa1']);
    assert.equal(
      leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(pem(s, 'key.pem'))),
      true,
    );
    assert.equal(pem(s, 'root-cert.pem'), leader()!.authority().rootPem());
    assert.equal(leaf.verify(new X509Certificate(pem(s, 'root-cert.pem')).publicKey), true);
    assert.equal(await getObject(kube, secretPath('ns2', 'istio.sa2')), undefined);
  });

  it('recreates a deleted secret, reissues on a root change and deletes with the service account', async () => {
    const first = await getObject(kube, secretPath('ns1', 'istio.sa1'));
    kube.remove(secretRef('ns1', 'istio.sa1'));
    await waitFor(
      async () => {
        const s = await getObject(kube, secretPath('ns1', 'istio.sa1'));
        return s !== undefined && s.metadata?.uid !== first?.metadata?.uid;
      },
      { timeoutMs: 5000 },
    );

    const lead = leader()!;
    await lead.rotateRoot();
    const bundle = lead.authority().trustBundle().join('');
    await waitFor(
      async () => pem(await getObject(kube, secretPath('ns1', 'istio.sa1')), 'root-cert.pem') === bundle,
      {
        timeoutMs: 5000,
      },
    );
    const follower = citadels.find((c) => c !== lead)!;
    await waitFor(() => follower.authority().rootPem() === lead.authority().rootPem(), { timeoutMs: 5000 });
    assert.equal(follower.authority().trustBundle().join(''), bundle);
    const rotated = await getObject(kube, secretPath('ns1', 'istio.sa1'));
    const leaf = new X509Certificate(pem(rotated, 'cert-chain.pem'));
    assert.equal(leaf.verify(new X509Certificate(lead.authority().rootPem()).publicKey), true);

    kube.remove(sa('ns1', 'sa1'));
    await waitFor(async () => (await getObject(kube, secretPath('ns1', 'istio.sa1'))) === undefined, {
      timeoutMs: 5000,
    });
    const monitoring = ports[citadels.indexOf(lead)]!.monitoringPort;
    const text = await (await fetch(`http://127.0.0.1:${monitoring}/metrics`)).text();
    assert.match(text, /citadel_secret_controller_svc_acc_created_cert_count 1\n/);
    assert.match(text, /citadel_secret_controller_secret_deleted_cert_count 1\n/);
    assert.match(text, /citadel_secret_controller_svc_acc_deleted_cert_count 1\n/);
  });

  it('gives the injector and pilot service accounts their DNS SANs', async () => {
    kube.apply(sa('istio-system', 'istio-sidecar-injector-service-account'));
    kube.apply(sa('istio-system', 'istio-pilot-service-account'));
    const sans = async (name: string) => {
      const s = await getObject(kube, secretPath('istio-system', name));
      return s ? subjectAltNames(new X509Certificate(pem(s, 'cert-chain.pem'))) : undefined;
    };
    await waitFor(async () => (await sans('istio.istio-sidecar-injector-service-account')) !== undefined, {
      timeoutMs: 5000,
    });
    assert.deepEqual((await sans('istio.istio-sidecar-injector-service-account'))?.dns, [
      'istio-sidecar-injector.istio-system.svc',
      'istio-sidecar-injector.istio-system',
    ]);
    await waitFor(async () => (await sans('istio.istio-pilot-service-account')) !== undefined, {
      timeoutMs: 5000,
    });
    const pilot = await sans('istio.istio-pilot-service-account');
    assert.deepEqual(pilot?.dns, ['istio-pilot.istio-system']);
    assert.deepEqual(pilot?.uris, ['spiffe://cluster.local/ns/istio-system/sa/istio-pilot-service-account']);
  });

  it('hands leadership over when the leader stops', async () => {
    const lead = leader()!;
    const other = citadels.find((c) => c !== lead)!;
    await lead.stop();
    citadels.splice(citadels.indexOf(lead), 1);
    await waitFor(() => other.secretController()?.isLeader() === true, { timeoutMs: 5000 });
    kube.apply(sa('ns1', 'late'));
    await waitFor(async () => (await getObject(kube, secretPath('ns1', 'istio.late'))) !== undefined, {
      timeoutMs: 5000,
    });
  });
});

describe('secret controller grace period', () => {
  it('reissues a secret once half its lifetime has passed', async () => {
    const kube = await startKubeTestServer({ kinds: [SA_KIND] });
    kube.apply(sa('ns1', 'short'));
    const key = await generateKey({ algorithm: 'ECDSA' });
    const rootPem = createSelfSignedCa({ key, organization: 'cluster.local', ttlMs: 86_400_000 });
    const ca = new CertificateAuthority({
      signingCertPem: rootPem,
      signingKey: key,
      intermediatePems: [],
      rootPem,
    });
    const controller = createSecretController({
      kubeConfig: kube.kubeConfig(),
      authority: () => ca,
      trustDomain: 'cluster.local',
      citadelNamespace: 'istio-system',
      workloadTtlMs: 2000,
      gracePeriodRatio: 0.5,
      minGracePeriodMs: 0,
      enableNamespacesByDefault: true,
      resyncMs: 100,
      lease: { durationMs: 600, renewMs: 100 },
      identity: 'only',
      metrics: citadelMetrics(new Registry()),
      logger: silentLogger,
    });
    await controller.start();
    try {
      await waitFor(async () => (await getObject(kube, secretPath('ns1', 'istio.short'))) !== undefined, {
        timeoutMs: 5000,
      });
      const first = new X509Certificate(
        pem(await getObject(kube, secretPath('ns1', 'istio.short')), 'cert-chain.pem'),
      );
      let next: X509Certificate | undefined;
      await waitFor(
        async () => {
          next = new X509Certificate(
            pem(await getObject(kube, secretPath('ns1', 'istio.short')), 'cert-chain.pem'),
          );
          return next.serialNumber !== first.serialNumber;
        },
        { timeoutMs: 5000 },
      );
      // Reissued once the grace period began (half of the 2 s lifetime), not before.
      assert.ok(Date.parse(next!.validFrom) > Date.parse(first.validFrom));
      assert.ok(Date.parse(next!.validTo) > Date.parse(first.validTo));
    } finally {
      await controller.stop();
      await kube.close();
    }
  });
});
