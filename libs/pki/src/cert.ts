import { createHash, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import {
  type Asn1,
  bin,
  bits,
  buf,
  children,
  explicit,
  fromDer,
  Oids,
  oidOf,
  seq,
  smallInt,
  time,
  toDer,
  uint,
} from './der.js';
import {
  authorityKeyIdExtension,
  basicConstraintsExtension,
  buildName,
  extKeyUsageExtension,
  KeyUsage,
  keyUsageExtension,
  type NameSpec,
  type SanSpec,
  subjectAltNameExtension,
  subjectKeyIdExtension,
} from './extensions.js';
import { signatureAlgorithm, signWith, spkiDer } from './keys.js';
import { pemDecodeAll, pemEncode } from './pem.js';

/** A signing certificate and its key, with what every issued certificate copies from it. */
export interface Issuer {
  certPem: string;
  cert: X509Certificate;
  key: KeyObject;
  /** DER of the issuer's subject Name (the issued certificate's issuer field). */
  subjectDer: Buffer;
  /** The issuer's subject key identifier (copied into authorityKeyIdentifier). */
  keyId: Buffer;
  /** The signature AlgorithmIdentifier DER for this key. */
  algorithmDer: Buffer;
}

export interface CertificateSpec extends SanSpec {
  /** Serial number bytes (positive); a random 128-bit one when absent. */
  serial?: Buffer;
  /** SubjectPublicKeyInfo DER of the key being certified. */
  spki: Buffer;
  subject?: NameSpec;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
}

/** SHA-1 of the SubjectPublicKeyInfo: the key identifier Keel puts in SKI/AKI. */
export function keyIdOf(spki: Buffer): Buffer {
  return createHash('sha1').update(spki).digest();
}

/** The TBS children of a certificate (version, serial, sigAlg, issuer, validity, subject, spki, ...). */
function tbsFields(certDer: Buffer): Asn1[] {
  const tbs = children(children(fromDer(certDer), 'Certificate')[0], 'TBSCertificate');
  // A v1 certificate has no [0] version field.
  return tbs[0]?.tagClass === 0x80 ? tbs.slice(1) : tbs;
}

function subjectKeyIdOf(fields: Asn1[]): Buffer | undefined {
  const extWrapper = fields.find((f) => f.tagClass === 0x80 && f.type === 3);
  if (!extWrapper) return undefined;
  for (const ext of children(children(extWrapper, 'extensions')[0], 'extensions')) {
    const parts = children(ext, 'extension');
    if (oidOf(parts[0], 'extension id') !== Oids.subjectKeyIdentifier) continue;
    const inner = fromDer(buf(parts[parts.length - 1]!.value as string));
    return buf(inner.value as string);
  }
  return undefined;
}

/** Prepares an issuer from its PEM certificate and private key; throws when they do not match. */
export function issuerFrom(certPem: string, key: KeyObject): Issuer {
  const cert = new X509Certificate(certPem);
  if (!cert.checkPrivateKey(key)) throw new Error('the CA key does not match the CA certificate');
  const der = pemDecodeAll(certPem).find((b) => b.type === 'CERTIFICATE')!.der;
  const fields = tbsFields(der);
  return {
    certPem: pemEncode('CERTIFICATE', der),
    cert,
    key,
    subjectDer: toDer(fields[4]!),
    keyId: subjectKeyIdOf(fields) ?? keyIdOf(toDer(fields[6]!)),
    algorithmDer: toDer(signatureAlgorithm(key)),
  };
}

/** A random positive 128-bit serial number. */
export function newSerialNumber(): Buffer {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b;
}

/**
 * Builds and signs a certificate. `issuer` undefined makes it self-signed with `selfKey`.
 * Leaves get digitalSignature+keyEncipherment, server and client auth, CA:FALSE; a SAN extension
 * that is critical when the subject is empty (RFC 5280 4.2.1.6). CAs get keyCertSign+cRLSign.
 */
export function buildCertificate(spec: CertificateSpec, issuer: Issuer | { selfKey: KeyObject }): string {
  const self = 'selfKey' in issuer;
  const signingKey = self ? issuer.selfKey : issuer.key;
  const algorithm = self ? signatureAlgorithm(signingKey) : fromDer(issuer.algorithmDer);
  const subject = buildName(spec.subject ?? {});
  const subjectEmpty = !spec.subject?.commonName && !spec.subject?.organization;
  const ownKeyId = keyIdOf(spec.spki);
  const extensions: Asn1[] = [];
  if (spec.isCA) {
    extensions.push(keyUsageExtension([KeyUsage.digitalSignature, KeyUsage.keyCertSign, KeyUsage.cRLSign]));
    extensions.push(basicConstraintsExtension(true));
    extensions.push(subjectKeyIdExtension(ownKeyId));
  } else {
    extensions.push(keyUsageExtension([KeyUsage.digitalSignature, KeyUsage.keyEncipherment]));
    extensions.push(extKeyUsageExtension([Oids.serverAuth, Oids.clientAuth]));
    extensions.push(basicConstraintsExtension(false));
  }
  if (!self) extensions.push(authorityKeyIdExtension(issuer.keyId));
  const san = subjectAltNameExtension(spec, subjectEmpty);
  if (san) extensions.push(san);
  const tbs = seq([
    explicit(0, smallInt(2)),
    uint(spec.serial ?? newSerialNumber()),
    algorithm,
    self ? subject : fromDer(issuer.subjectDer),
    seq([time(spec.notBefore), time(spec.notAfter)]),
    subject,
    fromDer(spec.spki),
    explicit(3, seq(extensions)),
  ]);
  const tbsDer = toDer(tbs);
  const signature = signWith(signingKey, tbsDer);
  return pemEncode('CERTIFICATE', toDer(seq([tbs, algorithm, bits(bin(signature))])));
}

export interface SelfSignedCaOptions {
  key: KeyObject;
  /** Subject O= (Istio uses the trust domain). */
  organization: string;
  ttlMs: number;
  now?: Date;
}

/** A self-signed root CA certificate (backdated one minute for clock skew). */
export function createSelfSignedCa(opts: SelfSignedCaOptions): string {
  const now = opts.now ?? new Date();
  return buildCertificate(
    {
      spki: spkiDer(opts.key),
      subject: { organization: opts.organization },
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + opts.ttlMs),
      isCA: true,
    },
    { selfKey: opts.key },
  );
}

/** SHA-256 fingerprint (hex, no colons) of a PEM certificate. */
export function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase();
}
