import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { type Bus, type CertIssuedEvent, connectBus, type RootRotatedEvent, Subjects } from '@keel/bus';
import {
  buildCertificate,
  CaClient,
  createCsr,
  createSelfSignedCa,
  fingerprint,
  generateKey,
  issuerFrom,
  privateKeyPem,
  spiffeIdsOf,
  spkiDer,
} from '@keel/pki';
import { silentLogger } from '@keel/runtime';
import { type NatsServer, startNats, type TempDir, tempDir, waitFor } from '@keel/testing';
import { type Citadel, createCitadel } from '../src/index.js';

const DAY = 86_400_000;
const ID = 'spiffe://cluster.local/ns/bookinfo/sa/reviews';

function openssl(dir: string, chain: string[]): string {
  writeFileSync(path.join(dir, 'leaf.pem'), chain[0]!);
  writeFileSync(path.join(dir, 'root.pem'), chain[chain.length - 1]!);
  writeFileSync(path.join(dir, 'mid.pem'), chain.slice(1, -1).join('') || chain[chain.length - 1]!);
  return execFileSync(
    'openssl',
    [
      'verify',
      '-purpose',
      'sslclient',
      '-CAfile',
      path.join(dir, 'root.pem'),
      '-untrusted',
      path.join(dir, 'mid.pem'),
      path.join(dir, 'leaf.pem'),
    ],
    { encoding: 'utf8' },
  );
}

async function keyAndCsr(uris: string[] = []) {
  const key = await generateKey({ algorithm: 'ECDSA' });
  return { key, keyPem: privateKeyPem(key), csrPem: createCsr({ key, uris }) };
}

const code = async (p: Promise<unknown>): Promise<{ code: number; details: string }> => {
  try {
    await p;
  } catch (e) {
    const err = e as grpc.ServiceError;
    return { code: err.code, details: err.details };
  }
  throw new Error('expected a gRPC error');
};

describe('citadel in local mode (--ca-dir, --token-file)', () => {
  let dir: TempDir;
  let nats: NatsServer;
  let bus: Bus;
  let citadel: Citadel;
  let address: string;
  let monitoring: number;
  const issuedEvents: CertIssuedEvent[] = [];
  const rootEvents: RootRotatedEvent[] = [];
  const caDir = () => path.join(dir.path, 'ca');
  const make = () =>
    createCitadel({
      host: '127.0.0.1',
      grpcPort: 0,
      monitoringPort: 0,
      caDir: caDir(),
      tokenFile: path.join(dir.path, 'tokens'),
      natsUrl: nats.url,
      logger: silentLogger,
    });
  const client = (opts: Partial<ConstructorParameters<typeof CaClient>[0]> = {}) =>
    new CaClient({ address, rootPem: citadel.authority().trustBundle().join(''), ...opts });

  before(async () => {
    dir = await tempDir('citadel');
    nats = await startNats({ jetstream: false });
    bus = await connectBus({ url: nats.url, name: 'test' });
    bus.subscribe(Subjects.certIssued, (e) => void issuedEvents.push(e));
    bus.subscribe(Subjects.rootRotated, (e) => void rootEvents.push(e));
    writeFileSync(path.join(dir.path, 'tokens'), '# token namespace sa\ntok-reviews bookinfo reviews\n');
    citadel = make();
    const ports = await citadel.start();
    address = `127.0.0.1:${ports.grpcPort}`;
    monitoring = ports.monitoringPort;
  });
  after(async () => {
    await citadel.stop();
    await bus.close();
    await nats.stop();
    await dir.cleanup();
  });

  it('keeps the CA key 0600 and creates a 10-year self-signed root', () => {
    assert.equal(statSync(path.join(caDir(), 'ca-key.pem')).mode & 0o777, 0o600);
    const root = new X509Certificate(readFileSync(path.join(caDir(), 'ca-cert.pem')));
    assert.equal(root.ca, true);
    const years = (Date.parse(root.validTo) - Date.parse(root.validFrom)) / (365 * DAY);
    assert.ok(years > 9.99 && years < 10.01, `root lifetime ${years} years`);
    assert.match(describeKey(root), /rsa 2048/);
  });

  it('signs for the token owner whatever the CSR asks; chain leaf..root verifies with openssl; default TTL 90 days', async () => {
    const { csrPem, key } = await keyAndCsr([
      'spiffe://cluster.local/ns/istio-system/sa/istio-pilot-service-account',
    ]);
    const c = client();
    const chain = await c.createCertificate({ csrPem, token: 'tok-reviews' });
    c.close();
    assert.equal(chain.length, 2);
    const leaf = new X509Certificate(chain[0]!);
    assert.deepEqual(spiffeIdsOf(leaf), [ID]);
    assert.equal(leaf.checkPrivateKey(key), true);
    assert.equal(leaf.verify(new X509Certificate(chain[1]!).publicKey), true);
    assert.equal(chain[1], citadel.authority().rootPem());
    const ttl = Date.parse(leaf.validTo) - Date.parse(leaf.validFrom);
    assert.ok(Math.abs(ttl - 90 * DAY) < 2000, `ttl ${ttl}`);
    assert.match(openssl(dir.path, chain), /OK/);
    await waitFor(() => issuedEvents.some((e) => e.identity === ID && e.serialNumber === leaf.serialNumber));
  });

  it('honours validity_duration up to the maximum and refuses more', async () => {
    const { csrPem } = await keyAndCsr();
    const c = client();
    const chain = await c.createCertificate({ csrPem, token: 'tok-reviews', validitySeconds: 3600 });
    const leaf = new X509Certificate(chain[0]!);
    assert.ok(Math.abs(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom) - 3_600_000) < 2000);
    const tooLong = await code(
      c.createCertificate({ csrPem, token: 'tok-reviews', validitySeconds: 91 * 86400 }),
    );
    assert.equal(tooLong.code, grpc.status.INVALID_ARGUMENT);
    assert.match(tooLong.details, /greater than the max allowed TTL 7776000s/);
    c.close();
  });

  it('refuses a bad CSR, a wrong token and no credentials, each with a reason', async () => {
    const c = client();
    const bad = await code(c.createCertificate({ csrPem: 'not a csr', token: 'tok-reviews' }));
    assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
    assert.match(bad.details, /CSR parsing error: CSR must be exactly one PEM/);
    const { csrPem } = await keyAndCsr();
    const wrong = await code(c.createCertificate({ csrPem, token: 'nope' }));
    assert.equal(wrong.code, grpc.status.UNAUTHENTICATED);
    assert.match(wrong.details, /the bearer token is not valid/);
    const none = await code(c.createCertificate({ csrPem }));
    assert.equal(none.code, grpc.status.UNAUTHENTICATED);
    assert.match(none.details, /no client certificate verified by the CA and no bearer token/);
    c.close();
    const metrics = await (await fetch(`http://127.0.0.1:${monitoring}/metrics`)).text();
    assert.match(metrics, /citadel_server_authentication_failure_count 2/);
    assert.match(metrics, /citadel_server_csr_parsing_err_count 1/);
    assert.match(metrics, /citadel_server_success_cert_issuance_count [1-9]/);
    assert.match(metrics, /citadel_server_root_cert_expiry_timestamp \d{10}/);
  });

  it('authenticates a client certificate by its SPIFFE SAN; refuses foreign and expired ones', async () => {
    const first = await keyAndCsr();
    const c0 = client();
    const chain = await c0.createCertificate({ csrPem: first.csrPem, token: 'tok-reviews' });
    c0.close();
    const renew = await keyAndCsr(['spiffe://cluster.local/ns/other/sa/admin']);
    const c1 = client({ clientCert: { certChainPem: chain.slice(0, -1).join(''), keyPem: first.keyPem } });
    const renewed = await c1.createCertificate({ csrPem: renew.csrPem });
    c1.close();
    assert.deepEqual(spiffeIdsOf(new X509Certificate(renewed[0]!)), [ID]);

    const foreignKey = await generateKey({ algorithm: 'ECDSA' });
    const foreignRoot = createSelfSignedCa({ key: foreignKey, organization: 'evil', ttlMs: DAY });
    const foreignLeaf = buildCertificate(
      {
        spki: spkiDer(first.key),
        uris: [ID],
        notBefore: new Date(),
        notAfter: new Date(Date.now() + DAY),
        isCA: false,
      },
      issuerFrom(foreignRoot, foreignKey),
    );
    const c2 = client({ clientCert: { certChainPem: foreignLeaf, keyPem: first.keyPem } });
    const foreign = await code(c2.createCertificate({ csrPem: renew.csrPem }));
    c2.close();
    assert.equal(foreign.code, grpc.status.UNAUTHENTICATED);

    const expiredLeaf = buildCertificate(
      {
        spki: spkiDer(first.key),
        uris: [ID],
        notBefore: new Date(Date.now() - 2 * DAY),
        notAfter: new Date(Date.now() - DAY),
        isCA: false,
      },
      citadel.authority().issuer,
    );
    const c3 = client({ clientCert: { certChainPem: expiredLeaf, keyPem: first.keyPem } });
    const expired = await code(c3.createCertificate({ csrPem: renew.csrPem }));
    c3.close();
    assert.equal(expired.code, grpc.status.UNAUTHENTICATED);
    assert.match(expired.details, /authentication failed/);
  });

  it('keeps its root across a restart, then rotates it with overlap', async () => {
    const before = fingerprint(citadel.authority().rootPem());
    await citadel.stop();
    citadel = make();
    address = `127.0.0.1:${(await citadel.start()).grpcPort}`;
    assert.equal(fingerprint(citadel.authority().rootPem()), before);

    const { csrPem } = await keyAndCsr();
    const c = client();
    const oldChain = await c.createCertificate({ csrPem, token: 'tok-reviews' });
    c.close();
    await citadel.rotateRoot();
    const bundle = citadel.authority().trustBundle();
    assert.equal(bundle.length, 2);
    assert.notEqual(fingerprint(bundle[0]!), before);
    assert.equal(fingerprint(bundle[1]!), before);
    assert.equal(readFileSync(path.join(caDir(), 'root-cert.pem'), 'utf8'), bundle.join(''));
    await waitFor(() => rootEvents.some((e) => e.previousFingerprint === before));
    // Leaves issued after the rotation chain to the new root; the old leaf still verifies via the bundle.
    const fresh = await keyAndCsr();
    const c3 = client({ rootPem: bundle.join('') });
    const newChain = await c3.createCertificate({ csrPem: fresh.csrPem, token: 'tok-reviews' });
    c3.close();
    assert.equal(newChain[newChain.length - 1], bundle[0]);
    assert.match(openssl(dir.path, newChain), /OK/);
    assert.match(openssl(dir.path, [oldChain[0]!, bundle[1]!]), /OK/);
  });
});

function describeKey(cert: X509Certificate): string {
  return `${cert.publicKey.asymmetricKeyType} ${cert.publicKey.asymmetricKeyDetails?.modulusLength}`;
}

describe('citadel with a plugged-in intermediate CA (cacerts files) and a P-256 key', () => {
  it('issues leaves that chain leaf -> intermediate -> plugged root', async () => {
    const dir = await tempDir('citadel-plugged');
    const rootKey = await generateKey({ algorithm: 'RSA' });
    const rootPem = createSelfSignedCa({ key: rootKey, organization: 'Corp Root', ttlMs: 3650 * DAY });
    const midKey = await generateKey({ algorithm: 'ECDSA' });
    const midPem = buildCertificate(
      {
        spki: spkiDer(midKey),
        subject: { organization: 'Mesh Intermediate' },
        notBefore: new Date(),
        notAfter: new Date(Date.now() + 365 * DAY),
        isCA: true,
      },
      issuerFrom(rootPem, rootKey),
    );
    const f = (n: string) => path.join(dir.path, n);
    writeFileSync(f('ca-cert.pem'), midPem);
    writeFileSync(f('ca-key.pem'), privateKeyPem(midKey));
    writeFileSync(f('root-cert.pem'), rootPem);
    writeFileSync(f('cert-chain.pem'), midPem + rootPem);
    writeFileSync(f('tokens'), 'abc ns9 sa9\n');
    const citadel = createCitadel({
      host: '127.0.0.1',
      grpcPort: 0,
      monitoringPort: 0,
      plugged: {
        signingCert: f('ca-cert.pem'),
        signingKey: f('ca-key.pem'),
        rootCert: f('root-cert.pem'),
        certChain: f('cert-chain.pem'),
      },
      tokenFile: f('tokens'),
      logger: silentLogger,
    });
    const { grpcPort } = await citadel.start();
    try {
      const { csrPem } = await keyAndCsr();
      const c = new CaClient({ address: `127.0.0.1:${grpcPort}`, rootPem });
      const chain = await c.createCertificate({ csrPem, token: 'abc' });
      c.close();
      assert.equal(chain.length, 3);
      assert.equal(new X509Certificate(chain[1]!).subject, 'O=Mesh Intermediate');
      assert.equal(chain[2], rootPem);
      assert.deepEqual(spiffeIdsOf(new X509Certificate(chain[0]!)), ['spiffe://cluster.local/ns/ns9/sa/sa9']);
      assert.match(openssl(dir.path, chain), /OK/);
      await assert.rejects(citadel.rotateRoot(), /plugged-in CA is not rotated/);
    } finally {
      await citadel.stop();
      await dir.cleanup();
    }
  });

  it('refuses to start with a key that does not match the certificate', async () => {
    const dir = await tempDir('citadel-badplug');
    const key = await generateKey({ algorithm: 'ECDSA' });
    const other = await generateKey({ algorithm: 'ECDSA' });
    const rootPem = createSelfSignedCa({ key, organization: 'x', ttlMs: DAY });
    writeFileSync(path.join(dir.path, 'c.pem'), rootPem);
    writeFileSync(path.join(dir.path, 'k.pem'), privateKeyPem(other));
    const citadel = createCitadel({
      grpcPort: 0,
      monitoringPort: 0,
      plugged: {
        signingCert: path.join(dir.path, 'c.pem'),
        signingKey: path.join(dir.path, 'k.pem'),
        rootCert: path.join(dir.path, 'c.pem'),
      },
      logger: silentLogger,
    });
    await assert.rejects(citadel.start(), /ca-key.pem does not match ca-cert.pem/);
    await citadel.stop();
    await dir.cleanup();
  });
});

describe('automatic root rotation', () => {
  it('rotates a self-signed root with less than the grace ratio of its life left, keeping the old one trusted', async () => {
    const dir = await tempDir('citadel-rotate');
    const citadel = createCitadel({
      host: '127.0.0.1',
      grpcPort: 0,
      monitoringPort: 0,
      caDir: dir.path,
      keyAlgorithm: 'ECDSA',
      // A 2-minute root is created backdated by one minute: half its life is left, under 0.6.
      rootTtlMs: 60_000,
      rootGraceRatio: 0.6,
      rootCheckIntervalMs: 3_600_000,
      logger: silentLogger,
    });
    const rotated = new Promise((resolve) => citadel.events.once('root', resolve));
    await citadel.start();
    try {
      await rotated;
      const bundle = citadel.authority().trustBundle();
      assert.equal(bundle.length, 2);
      assert.equal(readFileSync(path.join(dir.path, 'root-cert.pem'), 'utf8'), bundle.join(''));
    } finally {
      await citadel.stop();
      await dir.cleanup();
    }
  });
});
