import { type KeyObject, X509Certificate } from 'node:crypto';
import type { Result } from '@keel/runtime';
import { fingerprint, type Issuer, issuerFrom, newSerialNumber } from './cert.js';
import type { SanSpec } from './extensions.js';
import { buildLeafCertificate } from './leaf.js';
import { splitCertificates } from './pem.js';

/** What a CA signs with: its certificate and key, the chain up to the root, and the trusted roots. */
export interface CaMaterial {
  signingCertPem: string;
  signingKey: KeyObject;
  /** Intermediates between the signing certificate and the root (not the signing cert, not the root). */
  intermediatePems: readonly string[];
  /** The root the chain ends at. */
  rootPem: string;
  /** Roots still trusted besides `rootPem` (the previous root during a rotation overlap). */
  previousRootPems?: readonly string[];
}

export interface IssueRequest extends SanSpec {
  spki: Buffer;
  ttlMs: number;
  now?: Date;
}

export interface IssuedCertificate {
  certPem: string;
  /** Parsed on first use (parsing costs about as much as signing). */
  readonly cert: X509Certificate;
  /** Upper-case hex, as X509Certificate.serialNumber prints it. */
  serialNumber: string;
  /** notAfter as encoded (whole seconds). */
  notAfter: Date;
  /** Leaf first, then the signing CA and intermediates, root last. */
  chain: string[];
}

const isCa = (c: X509Certificate): boolean => c.ca;

/**
 * Checks plugged-in CA files: the key matches, the signing certificate is a CA, and each certificate
 * is issued and signed by the next up to the root. Returns the normalised material.
 */
export function validateCaMaterial(input: {
  signingCertPem: string;
  signingKey: KeyObject;
  certChainPem?: string;
  rootCertPem: string;
}): Result<CaMaterial, string> {
  try {
    const signing = new X509Certificate(input.signingCertPem);
    if (!signing.checkPrivateKey(input.signingKey))
      return { ok: false, errors: 'ca-key.pem does not match ca-cert.pem' };
    if (!isCa(signing))
      return { ok: false, errors: 'ca-cert.pem is not a CA certificate (basicConstraints CA:FALSE)' };
    const roots = splitCertificates(input.rootCertPem);
    if (roots.length === 0) return { ok: false, errors: 'root-cert.pem holds no certificate' };
    const rootPem = roots[0]!;
    const root = new X509Certificate(rootPem);
    const rootFp = fingerprint(rootPem);
    const signingFp = fingerprint(input.signingCertPem);
    const intermediates = splitCertificates(input.certChainPem ?? '').filter((p) => {
      const fp = fingerprint(p);
      return fp !== rootFp && fp !== signingFp;
    });
    const path = [signing, ...intermediates.map((p) => new X509Certificate(p)), root];
    for (let i = 0; i + 1 < path.length; i++) {
      const child = path[i]!;
      const parent = path[i + 1]!;
      if (child.fingerprint256 === parent.fingerprint256) continue;
      if (!child.checkIssued(parent) || !child.verify(parent.publicKey))
        return { ok: false, errors: `certificate '${child.subject}' is not signed by '${parent.subject}'` };
    }
    if (!root.verify(root.publicKey)) return { ok: false, errors: 'root-cert.pem is not self-signed' };
    return {
      ok: true,
      value: {
        signingCertPem: input.signingCertPem,
        signingKey: input.signingKey,
        intermediatePems: intermediates,
        rootPem,
        previousRootPems: roots.slice(1),
      },
    };
  } catch (e) {
    return { ok: false, errors: `CA files: ${(e as Error).message}` };
  }
}

/** A signing CA. Immutable: a rotation makes a new one. */
export class CertificateAuthority {
  readonly issuer: Issuer;
  readonly material: CaMaterial;
  private readonly chainTail: string[];

  constructor(material: CaMaterial) {
    this.material = material;
    this.issuer = issuerFrom(material.signingCertPem, material.signingKey);
    const selfRoot = fingerprint(material.signingCertPem) === fingerprint(material.rootPem);
    this.chainTail = selfRoot
      ? [material.rootPem]
      : [this.issuer.certPem, ...material.intermediatePems, material.rootPem];
  }

  /** Signs a leaf for `spki` with the given names, valid from now for `ttlMs` (Istio's NotBefore). */
  issue(req: IssueRequest): IssuedCertificate {
    const now = req.now ?? new Date();
    const serial = newSerialNumber();
    const notAfter = new Date(Math.floor((now.getTime() + req.ttlMs) / 1000) * 1000);
    const certPem = buildLeafCertificate(
      {
        spki: req.spki,
        serial,
        notBefore: now,
        notAfter,
        ...(req.uris ? { uris: req.uris } : {}),
        ...(req.dnsNames ? { dnsNames: req.dnsNames } : {}),
        ...(req.ips ? { ips: req.ips } : {}),
      },
      this.issuer,
    );
    let parsed: X509Certificate | undefined;
    return {
      certPem,
      get cert() {
        parsed ??= new X509Certificate(certPem);
        return parsed;
      },
      serialNumber: serial.toString('hex').toUpperCase(),
      notAfter,
      chain: [certPem, ...this.chainTail],
    };
  }

  /** The active root PEM. */
  rootPem(): string {
    return this.material.rootPem;
  }

  /** Every trusted root, active first (what ROOTCA and root-cert.pem carry). */
  trustBundle(): string[] {
    return [this.material.rootPem, ...(this.material.previousRootPems ?? [])];
  }

  /** notAfter of the active root. */
  rootExpiry(): Date {
    return new Date(new X509Certificate(this.material.rootPem).validTo);
  }
}
