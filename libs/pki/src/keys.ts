import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject, sign } from 'node:crypto';
import { promisify } from 'node:util';
import { type Asn1, nul, Oids, oid, seq } from './der.js';

const generate = promisify(generateKeyPair);

/** Key types Keel issues: RSA (Istio's default, 2048 bits) or ECDSA P-256. */
export type KeyAlgorithm = 'RSA' | 'ECDSA';

export interface KeySpec {
  algorithm: KeyAlgorithm;
  /** RSA modulus length (default 2048). */
  rsaBits?: number;
}

/** A new private key (async: RSA generation takes about 100 ms). */
export async function generateKey(spec: KeySpec = { algorithm: 'RSA' }): Promise<KeyObject> {
  if (spec.algorithm === 'ECDSA') {
    const { privateKey } = await generate('ec', { namedCurve: 'prime256v1' });
    return privateKey;
  }
  const { privateKey } = await generate('rsa', { modulusLength: spec.rsaBits ?? 2048 });
  return privateKey;
}

/** PKCS#8 PEM of a private key. */
export function privateKeyPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }) as string;
}

/** Loads a PEM private key (PKCS#1, SEC1 or PKCS#8). */
export function loadPrivateKey(pem: string): KeyObject {
  return createPrivateKey(pem);
}

/** SubjectPublicKeyInfo DER of a private or public key. */
export function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ format: 'der', type: 'spki' }) as Buffer;
}

/** The AlgorithmIdentifier a key signs with (SHA-256 with RSA, or ECDSA with SHA-256). */
export function signatureAlgorithm(key: KeyObject): Asn1 {
  if (key.asymmetricKeyType === 'rsa') return seq([oid(Oids.sha256WithRSA), nul()]);
  if (key.asymmetricKeyType === 'ec') return seq([oid(Oids.ecdsaWithSHA256)]);
  throw new Error(`unsupported signing key type ${key.asymmetricKeyType}`);
}

/** Signs `data` with SHA-256 (PKCS#1 v1.5 for RSA, DER-encoded ECDSA). */
export function signWith(key: KeyObject, data: Buffer): Buffer {
  return sign('sha256', data, key);
}

/** Short description for logs and errors, e.g. `RSA-2048`, `ECDSA-prime256v1`. */
export function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') return `RSA-${d?.modulusLength ?? '?'}`;
  if (key.asymmetricKeyType === 'ec') return `ECDSA-${d?.namedCurve ?? '?'}`;
  return String(key.asymmetricKeyType);
}
