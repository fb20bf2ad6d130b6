// The leaf fast path (per-issuer DER template) makes byte for byte the certificate the generic
// node-forge builder makes, for RSA and P-256 issuers, with URI, DNS and IP SANs, before and after 2050.
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { it } from 'node:test';
import { newSerialNumber } from '../src/cert.js';
import { buildCertificate, createSelfSignedCa, issuerFrom, spkiDer } from '../src/index.js';
import { buildLeafCertificate } from '../src/leaf.js';

// ECDSA signatures are randomised: compare the TBS (everything signed) and check the signature verifies.
const tbsOf = (pem: string) => {
  const der = new X509Certificate(pem).raw;
  // Certificate ::= SEQUENCE { tbs, alg, sig }: the TBS starts after the outer header.
  const outerHeader = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  const len =
    der[outerHeader + 1]! & 0x80
      ? (der[outerHeader + 2]! << 8) | der[outerHeader + 3]!
      : der[outerHeader + 1]!;
  const head = der[outerHeader + 1]! & 0x80 ? 2 + (der[outerHeader + 1]! & 0x7f) : 2;
  return der.subarray(outerHeader, outerHeader + head + len).toString('hex');
};

for (const type of ['rsa', 'ec'] as const) {
  it(`${type} issuer: same TBS as buildCertificate, signature verifies`, () => {
    const caKey =
      type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
        : generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const rootPem = createSelfSignedCa({ key: caKey, organization: 'cluster.local', ttlMs: 86_400_000 });
    const issuer = issuerFrom(rootPem, caKey);
    const leafKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const cases = [
      { uris: ['spiffe://cluster.local/ns/default/sa/reviews'], notAfter: new Date('2027-01-01T00:00:00Z') },
      { dnsNames: ['a.example'], ips: ['10.0.0.1', '::1'], notAfter: new Date('2051-06-30T12:34:56Z') },
      { notAfter: new Date('2030-01-01T00:00:00Z') },
    ];
    for (const c of cases) {
      const spec = {
        ...c,
        spki: spkiDer(leafKey),
        serial: newSerialNumber(),
        notBefore: new Date('2026-11-27T22:00:00.123Z'),
      };
      const fast = buildLeafCertificate(spec, issuer);
      const generic = buildCertificate({ ...spec, isCA: false }, issuer);
      assert.equal(tbsOf(fast), tbsOf(generic));
      assert.ok(new X509Certificate(fast).verify(issuer.cert.publicKey));
      if (type === 'rsa') assert.equal(fast, generic, 'RSA PKCS#1 v1.5 is deterministic: identical PEM');
    }
  });
}
