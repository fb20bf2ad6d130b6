// DER building blocks over node-forge's ASN.1 codec. node-forge's certificate builder only knows
// RSA keys and signs in pure JS (25 ms a certificate); Keel builds the TBS structures here for any
// key type and signs them with node:crypto (under 1 ms), which is what the CA signing target needs.
import forge from 'node-forge';

const { asn1 } = forge;
export type Asn1 = forge.asn1.Asn1;

const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;

/** Binary string <-> Buffer (forge works on binary strings). */
export const bin = (b: Buffer | Uint8Array): string => Buffer.from(b).toString('binary');
export const buf = (s: string): Buffer => Buffer.from(s, 'binary');

export const seq = (items: Asn1[]): Asn1 => asn1.create(U, T.SEQUENCE, true, items);
export const set = (items: Asn1[]): Asn1 => asn1.create(U, T.SET, true, items);
export const oid = (dotted: string): Asn1 => asn1.create(U, T.OID, false, asn1.oidToDer(dotted).getBytes());
export const nul = (): Asn1 => asn1.create(U, T.NULL, false, '');
export const bool = (v: boolean): Asn1 => asn1.create(U, T.BOOLEAN, false, v ? '\xff' : '\x00');
export const octets = (bytes: string): Asn1 => asn1.create(U, T.OCTETSTRING, false, bytes);
export const utf8 = (s: string): Asn1 => asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(s));
/** A BIT STRING whose content is whole bytes (no unused bits). */
export const bits = (bytes: string): Asn1 => asn1.create(U, T.BITSTRING, false, `\x00${bytes}`);
export const explicit = (tag: number, inner: Asn1): Asn1 =>
  asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, true, [inner]);
export const implicitConstructed = (tag: number, items: Asn1[]): Asn1 =>
  asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, true, items);
export const implicitPrimitive = (tag: number, bytes: string): Asn1 =>
  asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, false, bytes);

/** A non-negative INTEGER from big-endian bytes (a leading 0x00 is added when the high bit is set). */
export function uint(bytes: Buffer): Asn1 {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  if ((b[0]! & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return asn1.create(U, T.INTEGER, false, bin(b));
}
export const smallInt = (n: number): Asn1 =>
  asn1.create(U, T.INTEGER, false, asn1.integerToDer(n).getBytes());

/** UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5). */
export function time(d: Date): Asn1 {
  return d.getUTCFullYear() < 2050
    ? asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(d))
    : asn1.create(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));
}

export const toDer = (node: Asn1): Buffer => buf(asn1.toDer(node).getBytes());

/** Parses DER strictly; bit strings stay opaque (their bytes are signatures and keys). */
export function fromDer(der: Buffer): Asn1 {
  // The typings only know the old boolean argument; forge 1.x takes options (maxDepth defaults to 256).
  const options = { strict: true, decodeBitStrings: false, parseAllBytes: true, maxDepth: 32 };
  return asn1.fromDer(bin(der), options as unknown as boolean);
}

/** The children of a constructed node, or an error naming `what`. */
export function children(node: Asn1 | undefined, what: string): Asn1[] {
  if (!node?.constructed || !Array.isArray(node.value)) throw new Error(`${what} is not a constructed value`);
  return node.value as Asn1[];
}

export function oidOf(node: Asn1 | undefined, what: string): string {
  if (!node || node.type !== T.OID || typeof node.value !== 'string')
    throw new Error(`${what} is not an OID`);
  return asn1.derToOid(node.value);
}

/** Content bytes of a BIT STRING with no unused bits. */
export function bitStringBytes(node: Asn1 | undefined, what: string): Buffer {
  if (!node || node.type !== T.BITSTRING || typeof node.value !== 'string')
    throw new Error(`${what} is not a BIT STRING`);
  if (node.value.charCodeAt(0) !== 0) throw new Error(`${what} has unused bits`);
  return buf(node.value.slice(1));
}

export const Oids = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  sha512WithRSA: '1.2.840.113549.1.1.13',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ed25519: '1.3.101.112',
  extensionRequest: '1.2.840.113549.1.9.14',
  organization: '2.5.4.10',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** Signature algorithm OIDs Keel verifies (CSRs) -> node:crypto digest name (null: none, Ed25519). */
export const SIGNATURE_DIGESTS: Record<string, string | null> = {
  [Oids.sha256WithRSA]: 'sha256',
  [Oids.sha384WithRSA]: 'sha384',
  [Oids.sha512WithRSA]: 'sha512',
  [Oids.ecdsaWithSHA256]: 'sha256',
  [Oids.ecdsaWithSHA384]: 'sha384',
  [Oids.ed25519]: null,
};
