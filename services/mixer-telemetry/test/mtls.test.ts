// Control-plane security: mixer-telemetry serves Report and AccessLogService on 15004 with a
// Citadel-issued certificate; a sidecar with a certificate from the same CA is counted, a client with
// no certificate or a foreign one is refused and nothing it sent is recorded.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { encodeReport, MapBag } from '@keel/attributes';
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
import { type TempDir, tempDir } from '@keel/testing';
import { type Plane, startPlane } from './harness.js';
import type { Sample } from './promtext.js';

const DAY = 86_400_000;
const TELEMETRY_ID = spiffeId('cluster.local', 'istio-system', 'istio-mixer-service-account');

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
  const files = { chain: issued.chain.slice(0, -1).join(''), key: privateKeyPem(key), root: ca.rootPem() };
  await writeCertFiles(dir, { certChainPem: files.chain, keyPem: files.key, rootPem: files.root });
  return files;
}

const requestsTotal = (s: Sample[]) =>
  s.filter((x) => x.name === 'istio_requests_total').reduce((n, x) => n + x.value, 0);

describe('mixer-telemetry mTLS port (15004)', () => {
  let dir: TempDir;
  let plane: Plane;
  let ca: CertificateAuthority;
  let root: Buffer;
  let securePort = 0;
  const checkTelemetry = {
    checkServerIdentity: (_host: string, cert: { subjectaltname?: string }) =>
      cert.subjectaltname?.includes(`URI:${TELEMETRY_ID}`) ? undefined : new Error('not istio-telemetry'),
  };
  const report = (creds: grpc.ChannelCredentials) => {
    const Mixer = serviceClient('istio.mixer.v1.Mixer');
    const mixer = new Mixer(`127.0.0.1:${securePort}`, creds);
    const bag = new MapBag({
      'context.protocol': 'http',
      'context.reporter.kind': 'inbound',
      'destination.service.host': 'reviews.default.svc.cluster.local',
      'destination.service.name': 'reviews',
      'destination.service.namespace': 'default',
      'response.code': 200,
    });
    return new Promise<grpc.ServiceError | null>((resolve) =>
      mixer.Report(encodeReport([bag])[0], (e: grpc.ServiceError | null) => {
        mixer.close();
        resolve(e);
      }),
    );
  };

  before(async () => {
    dir = await tempDir('mixer-telemetry-mtls');
    ca = await newCa('cluster.local');
    root = Buffer.from(ca.rootPem());
    await issueCertDir(ca, path.join(dir.path, 'telemetry'), TELEMETRY_ID);
    plane = await startPlane([], {
      secure: { port: 0, certDir: path.join(dir.path, 'telemetry'), trustDomain: 'cluster.local' },
    });
    securePort = plane.ports.secureGrpcPort ?? 0;
  });
  after(async () => {
    await plane?.stop();
    await dir?.cleanup();
  });

  it('takes Mixer Report from a sidecar with a Citadel-issued certificate', async () => {
    assert.ok(securePort > 0, '15004 bound');
    const app = await issueCertDir(
      ca,
      path.join(dir.path, 'app'),
      spiffeId('cluster.local', 'default', 'reviews'),
    );
    const before = requestsTotal(await plane.samples());
    const creds = grpc.credentials.createSsl(
      root,
      Buffer.from(app.key),
      Buffer.from(app.chain),
      checkTelemetry,
    );
    assert.equal(await report(creds), null);
    assert.equal(requestsTotal(await plane.samples()) - before, 1);
  });

  it('refuses no certificate, a foreign certificate and another trust domain, recording nothing', async () => {
    const before = requestsTotal(await plane.samples());
    const none = await report(grpc.credentials.createSsl(root, null, null, checkTelemetry));
    assert.equal(none?.code, grpc.status.UNAVAILABLE);
    const foreignCa = await newCa('intruder');
    const foreign = await issueCertDir(
      foreignCa,
      path.join(dir.path, 'foreign'),
      spiffeId('cluster.local', 'default', 'reviews'),
    );
    const f = await report(
      grpc.credentials.createSsl(root, Buffer.from(foreign.key), Buffer.from(foreign.chain), checkTelemetry),
    );
    assert.equal(f?.code, grpc.status.UNAVAILABLE);
    const other = await issueCertDir(
      ca,
      path.join(dir.path, 'other'),
      spiffeId('evil.example', 'default', 'x'),
    );
    const o = await report(
      grpc.credentials.createSsl(root, Buffer.from(other.key), Buffer.from(other.chain), checkTelemetry),
    );
    assert.equal(o?.code, grpc.status.UNAUTHENTICATED);
    assert.equal(requestsTotal(await plane.samples()), before);
  });
});
