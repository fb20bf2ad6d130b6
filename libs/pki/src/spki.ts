// Public keys from a CSR's SubjectPublicKeyInfo, on Citadel's hot path (one per CSR).
// Measured here (Node 20 / OpenSSL 3, 2026-11-27, load average ~20): createPublicKey of a DER SPKI
// took 300-470 us for P-256 and ~375 us for RSA-2048 (OpenSSL 3's generic decoder), the same key as a
// JWK 250-290 us and ~16 us. So the two shapes Keel issues for (P-256 and RSA) are read here, checked
// byte for byte, and imported as JWK; anything else goes through the DER decoder, which also reports
// what is wrong with a malformed SPKI.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readChildren, readTlv } from './tlv.js';

/** SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING { 0 unused bits, 0x04 (uncompressed) */
const P256_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200' + '04', 'hex');
/** AlgorithmIdentifier { rsaEncryption, NULL } */
const RSA_ALGORITHM = Buffer.from('300d06092a864886f70d0101010500', 'hex');

const b64url = (b: Buffer) => b.toString('base64url');

/** A positive, minimally encoded DER INTEGER's magnitude, or undefined. */
function positiveInteger(content: Buffer): Buffer | undefined {
  if (content.length === 0 || (content[0]! & 0x80) !== 0) return undefined;
  if (content[0] === 0) {
    if (content.length === 1 || (content[1]! & 0x80) === 0) return undefined;
    return content.subarray(1);
  }
  return content;
}

function rsaJwk(spki: Buffer): { kty: 'RSA'; n: string; e: string } | undefined {
  const outer = readTlv(spki, 0);
  if (outer.tag !== 0x30 || outer.raw.length !== spki.length) return undefined;
  const top = readChildren(outer.content, 3);
  if (top.length !== 2 || !top[0]!.raw.equals(RSA_ALGORITHM) || top[1]!.tag !== 0x03) return undefined;
  const bitString = top[1]!.content;
  if (bitString[0] !== 0) return undefined;
  const inner = readTlv(bitString, 1);
  if (inner.tag !== 0x30 || inner.raw.length !== bitString.length - 1) return undefined;
  const ints = readChildren(inner.content, 3);
  if (ints.length !== 2 || ints[0]!.tag !== 0x02 || ints[1]!.tag !== 0x02) return undefined;
  const n = positiveInteger(ints[0]!.content);
  const e = positiveInteger(ints[1]!.content);
  return n && e ? { kty: 'RSA', n: b64url(n), e: b64url(e) } : undefined;
}

/** The public key of a DER SubjectPublicKeyInfo; throws (OpenSSL's message) when it is not one. */
export function publicKeyFromSpki(spki: Buffer): KeyObject {
  if (spki.length === P256_PREFIX.length + 64 && spki.subarray(0, P256_PREFIX.length).equals(P256_PREFIX)) {
    const at = P256_PREFIX.length;
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: b64url(spki.subarray(at, at + 32)),
        y: b64url(spki.subarray(at + 32)),
      },
      format: 'jwk',
    });
  }
  let jwk: ReturnType<typeof rsaJwk>;
  try {
    jwk = rsaJwk(spki);
  } catch {
    jwk = undefined;
  }
  if (jwk) return createPublicKey({ key: jwk, format: 'jwk' });
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}
