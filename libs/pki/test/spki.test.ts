// publicKeyFromSpki's JWK fast path gives the same key as OpenSSL's DER decoder, and anything it
// does not recognise byte for byte goes through that decoder (which refuses malformed input).
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { it } from 'node:test';
import { publicKeyFromSpki } from '../src/spki.js';

const spkiOf = (k: import('node:crypto').KeyObject) => k.export({ format: 'der', type: 'spki' }) as Buffer;

it('P-256, RSA-2048/3072, P-384 and Ed25519 keys come back identical', () => {
  const keys = [
    generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey,
    generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
    generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 3 }).publicKey,
    generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey,
    generateKeyPairSync('ed25519').publicKey,
  ];
  for (const k of keys) {
    const spki = spkiOf(k);
    const back = publicKeyFromSpki(spki);
    assert.ok(back.equals(createPublicKey({ key: spki, format: 'der', type: 'spki' })));
    assert.deepEqual(spkiOf(back), spki);
  }
});

it('refuses a P-256 point off the curve, truncated SPKIs, and a non-minimal RSA modulus', () => {
  const ec = spkiOf(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey);
  const offCurve = Buffer.from(ec);
  offCurve[offCurve.length - 1]! ^= 1;
  assert.throws(() => publicKeyFromSpki(offCurve));
  assert.throws(() => publicKeyFromSpki(ec.subarray(0, ec.length - 1)));
  const rsa = spkiOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
  assert.throws(() => publicKeyFromSpki(rsa.subarray(0, rsa.length - 3)));
  // An extra leading 0x00 on the modulus (non-minimal INTEGER) is not taken by the fast path.
  const at = rsa.indexOf(Buffer.from('0282010100', 'hex'));
  assert.ok(at > 0);
  const padded = Buffer.concat([
    rsa.subarray(0, at),
    Buffer.from('0282010200', 'hex'),
    Buffer.from([0]),
    rsa.subarray(at + 5),
  ]);
  assert.throws(() => publicKeyFromSpki(padded));
});
