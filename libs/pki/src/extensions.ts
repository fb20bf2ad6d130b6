import { isIPv4, isIPv6 } from 'node:net';
import { type Asn1, bin, bool, implicitPrimitive, Oids, octets, oid, seq, set, toDer, utf8 } from './der.js';

/** Subject fields Keel sets (Istio leaves workload subjects empty; roots carry O=<org>). */
export interface NameSpec {
  commonName?: string;
  organization?: string;
}

export interface SanSpec {
  uris?: readonly string[];
  dnsNames?: readonly string[];
  ips?: readonly string[];
}

export function buildName(spec: NameSpec): Asn1 {
  const rdns: Asn1[] = [];
  if (spec.organization) rdns.push(set([seq([oid(Oids.organization), utf8(spec.organization)])]));
  if (spec.commonName) rdns.push(set([seq([oid(Oids.commonName), utf8(spec.commonName)])]));
  return seq(rdns);
}

const extension = (id: string, critical: boolean, value: Asn1): Asn1 =>
  seq(critical ? [oid(id), bool(true), octets(bin(toDer(value)))] : [oid(id), octets(bin(toDer(value)))]);

function ipBytes(ip: string): string {
  if (isIPv4(ip)) return String.fromCharCode(...ip.split('.').map(Number));
  if (isIPv6(ip)) {
    const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    return bin(Buffer.from(groups.map((g) => g.padStart(4, '0')).join(''), 'hex'));
  }
  throw new Error(`'${ip}' is not an IP address`);
}

/** The subjectAltName extension, or undefined when there are no names. */
export function subjectAltNameExtension(spec: SanSpec, critical: boolean): Asn1 | undefined {
  const names = [
    ...(spec.dnsNames ?? []).map((d) => implicitPrimitive(2, d)),
    ...(spec.uris ?? []).map((u) => implicitPrimitive(6, u)),
    ...(spec.ips ?? []).map((ip) => implicitPrimitive(7, ipBytes(ip))),
  ];
  return names.length === 0 ? undefined : extension(Oids.subjectAltName, critical, seq(names));
}

/** keyUsage bits (RFC 5280 4.2.1.3). */
export const KeyUsage = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

export function keyUsageExtension(usages: readonly number[]): Asn1 {
  let byte = 0;
  for (const u of usages) byte |= 0x80 >> u;
  let unused = 0;
  while (unused < 7 && (byte & (1 << unused)) === 0) unused++;
  const node = { ...octets(''), type: 3, value: String.fromCharCode(unused, byte) } as Asn1;
  return extension(Oids.keyUsage, true, node);
}

export function extKeyUsageExtension(oids: readonly string[]): Asn1 {
  return extension(Oids.extKeyUsage, false, seq(oids.map(oid)));
}

export function basicConstraintsExtension(isCA: boolean): Asn1 {
  return extension(Oids.basicConstraints, true, seq(isCA ? [bool(true)] : []));
}

export function subjectKeyIdExtension(keyId: Buffer): Asn1 {
  return extension(Oids.subjectKeyIdentifier, false, octets(bin(keyId)));
}

export function authorityKeyIdExtension(keyId: Buffer): Asn1 {
  return extension(Oids.authorityKeyIdentifier, false, seq([implicitPrimitive(0, bin(keyId))]));
}
