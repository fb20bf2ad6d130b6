// Leaf certificates (Citadel's hot path) assembled as DER bytes around a per-issuer template.
// node-forge's generic ASN.1 objects cost about 220 us of the 300 us `issue` took for a P-256 CA
// (measured 2026-11-27, load average ~20; the ECDSA signature itself 60-80 us): the fixed part (version,
// signature algorithm, issuer, key usages, AKI) is encoded once per issuer here, and only the serial,
// validity, SPKI and SAN are encoded per certificate. `buildCertificate` stays the generic path (CAs,
// self-signed); a test checks both give identical DER for the same inputs.
import type { Issuer } from './cert.js';
import { Oids, toDer } from './der.js';
import {
  authorityKeyIdExtension,
  basicConstraintsExtension,
  extKeyUsageExtension,
  KeyUsage,
  keyUsageExtension,
  type SanSpec,
  subjectAltNameExtension,
} from './extensions.js';
import { signWith } from './keys.js';
import { pemEncode } from './pem.js';

/** A DER element: tag, definite length, content. */
export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const len = content.reduce((n, c) => n + c.length, 0);
  let head: Buffer;
  if (len < 0x80) head = Buffer.from([tag, len]);
  else if (len < 0x100) head = Buffer.from([tag, 0x81, len]);
  else if (len < 0x10000) head = Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  else head = Buffer.from([tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff]);
  return Buffer.concat([head, ...content]);
}

const two = (n: number) => String(n).padStart(2, '0');

/** UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5), whole seconds, Z. */
export function timeDer(d: Date): Buffer {
  const y = d.getUTCFullYear();
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return y < 2050
    ? tlv(0x17, Buffer.from(`${two(y % 100)}${rest}`, 'latin1'))
    : tlv(0x18, Buffer.from(`${String(y).padStart(4, '0')}${rest}`, 'latin1'));
}

/** A non-negative INTEGER from big-endian bytes (minimal, with a 0x00 when the high bit is set). */
export function uintDer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  return (b[0]! & 0x80) !== 0 ? tlv(0x02, Buffer.from([0]), b) : tlv(0x02, b);
}

interface LeafTemplate {
  /** [0] version v3, then (after the serial) the signature AlgorithmIdentifier and issuer Name. */
  version: Buffer;
  algorithmAndIssuer: Buffer;
  /** keyUsage, extKeyUsage, basicConstraints CA:FALSE, authorityKeyIdentifier. */
  fixedExtensions: Buffer;
}

const templates = new WeakMap<Issuer, LeafTemplate>();

function templateOf(issuer: Issuer): LeafTemplate {
  let t = templates.get(issuer);
  if (!t) {
    t = {
      version: Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02]),
      algorithmAndIssuer: Buffer.concat([issuer.algorithmDer, issuer.subjectDer]),
      fixedExtensions: Buffer.concat(
        [
          keyUsageExtension([KeyUsage.digitalSignature, KeyUsage.keyEncipherment]),
          extKeyUsageExtension([Oids.serverAuth, Oids.clientAuth]),
          basicConstraintsExtension(false),
          authorityKeyIdExtension(issuer.keyId),
        ].map(toDer),
      ),
    };
    templates.set(issuer, t);
  }
  return t;
}

export interface LeafSpec extends SanSpec {
  serial: Buffer;
  spki: Buffer;
  notBefore: Date;
  notAfter: Date;
}

/** A signed leaf (empty subject, so a critical SAN), byte for byte what `buildCertificate` makes. */
export function buildLeafCertificate(spec: LeafSpec, issuer: Issuer): string {
  const t = templateOf(issuer);
  const san = subjectAltNameExtension(spec, true);
  const extensions = tlv(0xa3, tlv(0x30, t.fixedExtensions, ...(san ? [toDer(san)] : [])));
  const tbs = tlv(
    0x30,
    t.version,
    uintDer(spec.serial),
    t.algorithmAndIssuer,
    tlv(0x30, timeDer(spec.notBefore), timeDer(spec.notAfter)),
    Buffer.from([0x30, 0x00]),
    spec.spki,
    extensions,
  );
  const signature = signWith(issuer.key, tbs);
  const bitString = tlv(0x03, Buffer.from([0]), signature);
  return pemEncode('CERTIFICATE', tlv(0x30, tbs, issuer.algorithmDer, bitString));
}
