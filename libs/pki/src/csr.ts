import { type KeyObject, verify } from 'node:crypto';
import type { Result } from '@keel/runtime';
import forge from 'node-forge';
import {
  bin,
  bits,
  fromDer,
  implicitConstructed,
  Oids,
  oid,
  SIGNATURE_DIGESTS,
  seq,
  set,
  smallInt,
  toDer,
} from './der.js';
import { buildName, type NameSpec, type SanSpec, subjectAltNameExtension } from './extensions.js';
import { signatureAlgorithm, signWith, spkiDer } from './keys.js';
import { pemDecodeAll, pemEncode } from './pem.js';
import { publicKeyFromSpki } from './spki.js';
import { readChildren, readTlv } from './tlv.js';

/** A CSR larger than this is refused before parsing. */
export const MAX_CSR_BYTES = 16 * 1024;

export interface CsrOptions extends SanSpec {
  key: KeyObject;
  subject?: NameSpec;
}

/** A PKCS#10 request signed by `key`, asking for the given SANs. */
export function createCsr(opts: CsrOptions): string {
  const attrs = [];
  const san = subjectAltNameExtension(opts, false);
  if (san) attrs.push(seq([oid(Oids.extensionRequest), set([seq([san])])]));
  // attributes are [0] IMPLICIT SET OF Attribute
  const info = seq([
    smallInt(0),
    buildName(opts.subject ?? {}),
    fromDer(spkiDer(opts.key)),
    implicitConstructed(0, attrs),
  ]);
  const signature = signWith(opts.key, toDer(info));
  const der = toDer(seq([info, signatureAlgorithm(opts.key), bits(bin(signature))]));
  return pemEncode('CERTIFICATE REQUEST', der);
}

/** What Citadel takes from a CSR: the key to certify (the requested names are ignored). */
export interface ParsedCsr {
  /** SubjectPublicKeyInfo DER, copied into the certificate. */
  spki: Buffer;
  publicKey: KeyObject;
}

/** Decodes a PEM CSR and checks its self-signature; every failure says what was wrong. */
export function parseCsr(pem: string): Result<ParsedCsr, string> {
  if (typeof pem !== 'string' || pem.length === 0) return { ok: false, errors: 'CSR is empty' };
  if (pem.length > MAX_CSR_BYTES) return { ok: false, errors: `CSR is larger than ${MAX_CSR_BYTES} bytes` };
  const blocks = pemDecodeAll(pem).filter(
    (b) => b.type === 'CERTIFICATE REQUEST' || b.type === 'NEW CERTIFICATE REQUEST',
  );
  if (blocks.length !== 1)
    return { ok: false, errors: 'CSR must be exactly one PEM CERTIFICATE REQUEST block' };
  try {
    const der = blocks[0]!.der;
    const outer = readTlv(der, 0);
    if (outer.tag !== 0x30 || outer.raw.length !== der.length) throw new Error('not a DER SEQUENCE');
    const top = readChildren(outer.content, 3);
    if (top.length !== 3 || top[0]!.tag !== 0x30 || top[1]!.tag !== 0x30 || top[2]!.tag !== 0x03)
      throw new Error('CertificationRequest must be SEQUENCE { info, algorithm, BIT STRING }');
    const info = readChildren(top[0]!.content, 4);
    if (info.length < 3 || info[2]!.tag !== 0x30) throw new Error('CertificationRequestInfo is incomplete');
    const spki = Buffer.from(info[2]!.raw);
    const publicKey = publicKeyFromSpki(spki);
    const algId = readChildren(top[1]!.content, 2)[0];
    if (algId?.tag !== 0x06) throw new Error('signature algorithm is not an OID');
    const algOid = forge.asn1.derToOid(bin(algId.content));
    const digest = SIGNATURE_DIGESTS[algOid];
    if (digest === undefined) throw new Error(`unsupported signature algorithm ${algOid}`);
    const sigBits = top[2]!.content;
    if (sigBits[0] !== 0) throw new Error('signature has unused bits');
    if (!verify(digest, top[0]!.raw, publicKey, sigBits.subarray(1)))
      throw new Error('signature does not verify');
    const type = publicKey.asymmetricKeyType;
    if (type === 'rsa' && (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
      throw new Error('RSA keys must have at least 2048 bits');
    if (type !== 'rsa' && type !== 'ec' && type !== 'ed25519')
      throw new Error(`unsupported key type ${type}`);
    return { ok: true, value: { spki, publicKey } };
  } catch (e) {
    return { ok: false, errors: `invalid CSR: ${(e as Error).message}` };
  }
}
