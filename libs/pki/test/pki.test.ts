import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type TempDir, tempDir } from '@keel/testing';
import {
  buildCertificate,
  CertificateAuthority,
  checkPeer,
  createCsr,
  createSelfSignedCa,
  generateKey,
  type KeyAlgorithm,
  parseCsr,
  parseSpiffeId,
  spiffeId,
  spiffeIdsOf,
  spkiDer,
  splitCertificates,
  subjectAltNames,
  validateCaMaterial,
} from '../src/index.js';

const DAY = 86_400_000;
let dir: TempDir;
before(async () => {
  dir = await tempDir('pki');
});
after(() => dir.cleanup());

/** `openssl verify` of a leaf against a root (and untrusted intermediates); returns its output. */
function opensslVerify(chain: string[], purpose: 'sslclient' | 'sslserver'): string {
  const leaf = path.join(dir.path, 'leaf.pem');
  const root = path.join(dir.path, 'root.pem');
  const mid = path.join(dir.path, 'mid.pem');
  writeFileSync(leaf, chain[0]!);
  writeFileSync(root, chain[chain.length - 1]!);
  writeFileSync(mid, chain.slice(1, -1).join(''));
  const args = ['verify', '-purpose', purpose, '-CAfile', root];
  if (chain.length > 2) args.push('-untrusted', mid);
  return execFileSync('openssl', [...args, leaf], { encoding: 'utf8' });
}

function opensslText(pem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: pem, encoding: 'utf8' });
}

async function selfSignedCa(algorithm: KeyAlgorithm) {
  const key = await generateKey({ algorithm });
  const rootPem = createSelfSignedCa({ key, organization: 'cluster.local', ttlMs: 3650 * DAY });
  return new CertificateAuthority({
    signingCertPem: rootPem,
    signingKey: key,
    intermediatePems: [],
    rootPem,
  });
}

for (const algorithm of ['RSA', 'ECDSA'] as const) {
  describe(`${algorithm} CA`, () => {
    it('issues a leaf that node:crypto and openssl verify, with SPIFFE SAN, usages and TTL', async () => {
      const ca = await selfSignedCa(algorithm);
      const root = new X509Certificate(ca.rootPem());
      assert.equal(root.ca, true);
      assert.equal(root.subject, 'O=cluster.local');
      const rootDays = (Date.parse(root.validTo) - Date.parse(root.validFrom)) / DAY;
      assert.ok(rootDays > 3649 && rootDays < 3651, `root lifetime ${rootDays} days`);

      const key = await generateKey({ algorithm: 'ECDSA' });
      const parsed = parseCsr(createCsr({ key, uris: ['spiffe://evil/ns/x/sa/y'] }));
      assert.ok(parsed.ok);
      const id = spiffeId('cluster.local', 'default', 'reviews');
      const issued = ca.issue({
        spki: parsed.value.spki,
        uris: [id],
        ttlMs: DAY,
        dnsNames: ['reviews.default'],
      });
      assert.equal(issued.chain.length, 2);
      assert.equal(issued.chain[1], ca.rootPem());
      const leaf = new X509Certificate(issued.chain[0]!);
      assert.equal(leaf.verify(root.publicKey), true);
      assert.equal(leaf.checkIssued(root), true);
      assert.equal(leaf.ca, false);
      assert.deepEqual(spiffeIdsOf(leaf), [id]);
      assert.deepEqual(subjectAltNames(leaf).dns, ['reviews.default']);
      assert.deepEqual(leaf.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
      assert.equal(leaf.checkPrivateKey(key), true);
      const ttl = Date.parse(leaf.validTo) - Date.parse(leaf.validFrom);
      assert.ok(Math.abs(ttl - DAY) <= 1000, `ttl ${ttl}`);
      const text = opensslText(issued.chain[0]!);
      assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
      assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
      assert.match(
        text,
        /X509v3 Subject Alternative Name: critical\s+DNS:reviews.default, URI:spiffe:\/\/cluster.local\/ns\/default\/sa\/reviews/,
      );
      assert.match(text, /Authority Key Identifier/);
      assert.match(opensslVerify(issued.chain, 'sslclient'), /leaf.pem: OK/);
      assert.match(opensslVerify(issued.chain, 'sslserver'), /leaf.pem: OK/);
    });
  });
}

describe('plugged-in intermediate CA', () => {
  it('chains leaf -> intermediate -> root, verified by openssl', async () => {
    const rootKey = await generateKey({ algorithm: 'RSA' });
    const rootPem = createSelfSignedCa({ key: rootKey, organization: 'Root CA', ttlMs: 10 * 365 * DAY });
    const rootCa = new CertificateAuthority({
      signingCertPem: rootPem,
      signingKey: rootKey,
      intermediatePems: [],
      rootPem,
    });
    const midKey = await generateKey({ algorithm: 'RSA' });
    const now = new Date();
    const midPem = buildCertificate(
      {
        spki: spkiDer(midKey),
        subject: { organization: 'Intermediate CA' },
        notBefore: now,
        notAfter: new Date(now.getTime() + 365 * DAY),
        isCA: true,
      },
      rootCa.issuer,
    );
    const material = validateCaMaterial({
      signingCertPem: midPem,
      signingKey: midKey,
      certChainPem: midPem + rootPem,
      rootCertPem: rootPem,
    });
    assert.ok(material.ok, material.ok ? '' : material.errors);
    const ca = new CertificateAuthority(material.value);
    const key = await generateKey({ algorithm: 'RSA' });
    const issued = ca.issue({
      spki: spkiDer(key),
      uris: [spiffeId('cluster.local', 'ns1', 'sa1')],
      ttlMs: DAY,
    });
    assert.equal(issued.chain.length, 3);
    assert.equal(issued.chain[1], splitCertificates(midPem)[0]);
    assert.equal(issued.chain[2], rootPem);
    assert.match(opensslVerify(issued.chain, 'sslclient'), /OK/);

    const wrongKey = validateCaMaterial({ signingCertPem: midPem, signingKey: key, rootCertPem: rootPem });
    assert.deepEqual(wrongKey, { ok: false, errors: 'ca-key.pem does not match ca-cert.pem' });
    const otherRoot = createSelfSignedCa({ key, organization: 'Other', ttlMs: DAY });
    const foreign = validateCaMaterial({
      signingCertPem: midPem,
      signingKey: midKey,
      rootCertPem: otherRoot,
    });
    assert.equal(foreign.ok, false);
    assert.match(foreign.ok ? '' : foreign.errors, /is not signed by 'O=Other'/);
  });
});

describe('CSR parsing', () => {
  it('refuses garbage, tampered signatures, small RSA keys and huge input with reasons', async () => {
    assert.deepEqual(parseCsr(''), { ok: false, errors: 'CSR is empty' });
    assert.match((parseCsr('hello') as { errors: string }).errors, /exactly one PEM/);
    const bad = '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n';
    assert.match((parseCsr(bad) as { errors: string }).errors, /^invalid CSR: /);
    const key = await generateKey({ algorithm: 'ECDSA' });
    const good = createCsr({ key, uris: ['spiffe://a/ns/b/sa/c'] });
    const der = Buffer.from(good.split('\n').slice(1, -2).join(''), 'base64');
    der[der.length - 3] ^= 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.match((parseCsr(tampered) as { errors: string }).errors, /invalid CSR/);
    const small = await generateKey({ algorithm: 'RSA', rsaBits: 1024 });
    assert.match((parseCsr(createCsr({ key: small })) as { errors: string }).errors, /at least 2048 bits/);
    assert.match((parseCsr('x'.repeat(100_000)) as { errors: string }).errors, /larger than/);
    // openssl reads Keel's CSRs
    const text = execFileSync('openssl', ['req', '-noout', '-verify', '-text'], {
      input: good,
      encoding: 'utf8',
    });
    assert.match(text, /URI:spiffe:\/\/a\/ns\/b\/sa\/c/);
  });

  it('accepts a CSR made by openssl', async () => {
    const keyFile = path.join(dir.path, 'k.pem');
    const csr = execFileSync(
      'openssl',
      ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-subj', '/CN=x'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    assert.equal(parseCsr(csr).ok, true);
  });
});

describe('SPIFFE ids', () => {
  it('formats and parses, refusing other shapes', () => {
    assert.deepEqual(parseSpiffeId(spiffeId('cluster.local', 'ns', 'sa')), {
      ok: true,
      value: { trustDomain: 'cluster.local', namespace: 'ns', serviceAccount: 'sa' },
    });
    assert.equal(parseSpiffeId('spiffe://td/ns/a').ok, false);
    assert.equal(parseSpiffeId('https://td/ns/a/sa/b').ok, false);
    assert.equal(parseSpiffeId('spiffe://td/ns/A_/sa/b').ok, false);
  });
});

describe('mTLS peer policy', () => {
  it('accepts a SPIFFE id of the trust domain (or the allow list) and names every refusal', async () => {
    const ca = await selfSignedCa('ECDSA');
    const key = await generateKey({ algorithm: 'ECDSA' });
    const leaf = (uris: string[]) =>
      new X509Certificate(ca.issue({ spki: spkiDer(key), uris, ttlMs: DAY }).certPem).raw;
    const mesh = leaf([spiffeId('cluster.local', 'default', 'productpage')]);
    assert.equal(checkPeer(mesh, { trustDomain: 'cluster.local' }), undefined);
    assert.equal(checkPeer(undefined, { trustDomain: 'cluster.local' }), 'no verified client certificate');
    assert.equal(
      checkPeer(leaf([]), { trustDomain: 'cluster.local' }),
      'the client certificate has no SPIFFE identity',
    );
    assert.match(
      checkPeer(leaf([spiffeId('other.domain', 'default', 'x')]), { trustDomain: 'cluster.local' }) ?? '',
      /is not allowed/,
    );
    const allowed = ['spiffe://cluster.local/ns/istio-system/sa/istio-pilot-service-account'];
    assert.match(checkPeer(mesh, { trustDomain: 'cluster.local', allowed }) ?? '', /is not allowed/);
  });
});
