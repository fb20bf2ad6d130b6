// Control-plane security: mixer-policy serves both Check APIs on 15004 with a Citadel-issued certificate;
// a sidecar presenting a certificate from the same CA is answered as on 9091, and a client with no
// certificate, a foreign certificate or an identity outside the trust domain is refused.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createGalley } from '@keel/galley';
import {
  CertificateAuthority,
  createSelfSignedCa,
  generateKey,
  privateKeyPem,
  spiffeId,
  spkiDer,
  writeCertFiles,
} from '@keel/pki';
import { serviceClient } from '@keel/proto';
import { silentLogger } from '@keel/runtime';
import { type TempDir, tempDir, withTimeout } from '@keel/testing';
import { createMixerPolicy } from '../src/index.js';
import { callCheck, checkRequest, outcome, type PolicyMesh, startPolicyMesh } from './mesh.js';

const DAY = 86_400_000;

async function newCa(organization: string): Promise<CertificateAuthority> {
  const key = await generateKey({ algorithm: 'ECDSA' });
  const rootPem = createSelfSignedCa({ key, organization, ttlMs: 3650 * DAY });
  return new CertificateAuthority({
    signingCertPem: rootPem,
    signingKey: key,
    intermediatePems: [],
    rootPem,
  });
}

/** An istio.<sa> secret's files, as Citadel's secret controller or pilot-agent --output-certs writes them. */
async function issueCertDir(ca: CertificateAuthority, dir: string, id: string) {
  const key = await generateKey({ algorithm: 'ECDSA' });
  const issued = ca.issue({ spki: spkiDer(key), uris: [id], ttlMs: DAY });
  const files = {
    chain: issued.chain.slice(0, -1).join(''),
    key: privateKeyPem(key),
    root: ca.rootPem(),
  };
  await writeCertFiles(dir, { certChainPem: files.chain, keyPem: files.key, rootPem: files.root });
  return files;
}

const POLICY_ID = spiffeId('cluster.local', 'istio-system', 'istio-policy-service-account');

describe('mixer-policy mTLS port (15004)', () => {
  let dir: TempDir;
  let mesh: PolicyMesh;
  let ca: CertificateAuthority;
  let root: Buffer;
  const clients: grpc.Client[] = [];
  const checkPolicy = {
    checkServerIdentity: (_host: string, cert: { subjectaltname?: string }) =>
      cert.subjectaltname?.includes(`URI:${POLICY_ID}`) ? undefined : new Error('not istio-policy'),
  };
  const extAuthz = (creds: grpc.ChannelCredentials) => {
    const Client = serviceClient('envoy.service.auth.v3.Authorization');
    const c = new Client(`127.0.0.1:${mesh.secureGrpcPort}`, creds);
    clients.push(c);
    return c;
  };
  const check = (creds: grpc.ChannelCredentials) =>
    callCheck(extAuthz(creds), checkRequest('reviewsV3', 'ratings', mesh.extensions('ratings')));

  before(async () => {
    dir = await tempDir('mixer-policy-mtls');
    ca = await newCa('cluster.local');
    root = Buffer.from(ca.rootPem());
    await issueCertDir(ca, path.join(dir.path, 'policy'), POLICY_ID);
    mesh = await startPolicyMesh(['mixer-rule-deny-label.yaml'], {
      secure: { port: 0, certDir: path.join(dir.path, 'policy'), trustDomain: 'cluster.local' },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await mesh?.stop();
    await dir?.cleanup();
  });

  it('answers a sidecar with a Citadel-issued certificate as the plaintext port does', async () => {
    assert.ok((mesh.secureGrpcPort ?? 0) > 0, '15004 bound');
    const app = await issueCertDir(
      ca,
      path.join(dir.path, 'app'),
      spiffeId('cluster.local', 'default', 'reviews'),
    );
    const creds = grpc.credentials.createSsl(root, Buffer.from(app.key), Buffer.from(app.chain), checkPolicy);
    const secure = outcome(await check(creds));
    const plain = outcome(await mesh.check('reviewsV3', 'ratings'));
    assert.equal(secure.grpc, 7, 'the deny-label rule denies reviews-v3 -> ratings');
    assert.deepEqual(secure, plain);
  });

  it('refuses a client with no certificate or a foreign one (TLS handshake fails)', async () => {
    await assert.rejects(
      check(grpc.credentials.createSsl(root, null, null, checkPolicy)),
      (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE,
    );
    const foreignCa = await newCa('intruder');
    const foreign = await issueCertDir(
      foreignCa,
      path.join(dir.path, 'foreign'),
      spiffeId('cluster.local', 'default', 'reviews'),
    );
    await assert.rejects(
      check(
        grpc.credentials.createSsl(root, Buffer.from(foreign.key), Buffer.from(foreign.chain), checkPolicy),
      ),
      (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE,
    );
  });

  it('refuses a mesh-CA certificate whose SPIFFE id is in another trust domain', async () => {
    const other = await issueCertDir(
      ca,
      path.join(dir.path, 'other'),
      spiffeId('evil.example', 'default', 'x'),
    );
    await assert.rejects(
      check(grpc.credentials.createSsl(root, Buffer.from(other.key), Buffer.from(other.chain), checkPolicy)),
      (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED && /not allowed/.test(e.details),
    );
  });

  it("reaches Galley's mTLS-only MCP with its own certificate (--mcp-tls) and gets config", async () => {
    const galleyDir = path.join(dir.path, 'galley');
    const configDir = path.join(dir.path, 'galley-config');
    mkdirSync(configDir);
    await issueCertDir(
      ca,
      galleyDir,
      spiffeId('cluster.local', 'istio-system', 'istio-galley-service-account'),
    );
    const galley = createGalley({
      configDir,
      host: '127.0.0.1',
      mcpPort: 0,
      monitoringPort: 0,
      mcpTls: { certDir: galleyDir, trustDomain: 'cluster.local' },
      logger: silentLogger,
    });
    const g = await galley.start();
    const policy = createMixerPolicy({
      mcpAddress: `127.0.0.1:${g.mcpPort}`,
      host: '127.0.0.1',
      grpcPort: 0,
      monitoringPort: 0,
      mcpTls: {
        certDir: path.join(dir.path, 'policy'),
        galleyIdentity: spiffeId('cluster.local', 'istio-system', 'istio-galley-service-account'),
      },
      logger: silentLogger,
    });
    try {
      const configured = policy.nextConfig();
      await policy.start();
      await withTimeout(configured, 10_000, 'mixer-policy config over mTLS MCP');
      assert.equal(policy.ready(), true);
    } finally {
      await policy.stop();
      await galley.stop();
    }
  });
});
