// The CA Citadel signs with: loaded from plugged-in files, or a self-signed root kept in a store and
// rotated with overlap (the retired root stays in the trust bundle until leaves signed by it expire).
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  CertificateAuthority,
  createSelfSignedCa,
  fingerprint,
  generateKey,
  type KeyAlgorithm,
  loadPrivateKey,
  privateKeyPem,
  validateCaMaterial,
} from '@keel/pki';
import type { CaStore, StoredCa } from './store.js';

export interface SelfSignedOptions {
  store: CaStore;
  organization: string;
  algorithm: KeyAlgorithm;
  rsaBits: number;
  rootTtlMs: number;
  /** Retired roots are kept this long after a rotation (the longest workload TTL). */
  overlapMs: number;
}

export interface PluggedFiles {
  signingCert: string;
  signingKey: string;
  rootCert: string;
  certChain?: string;
}

/** A plugged-in CA (Istio's `cacerts`); every problem with the files is reported. */
export async function loadPluggedCa(files: PluggedFiles): Promise<CertificateAuthority> {
  const read = (f: string) =>
    readFile(f, 'utf8').catch((e: Error) => {
      throw new Error(`reading ${f}: ${e.message}`);
    });
  const [signingCertPem, keyPem, rootCertPem, certChainPem] = await Promise.all([
    read(files.signingCert),
    read(files.signingKey),
    read(files.rootCert),
    files.certChain ? read(files.certChain) : Promise.resolve(undefined),
  ]);
  const r = validateCaMaterial({
    signingCertPem,
    signingKey: loadPrivateKey(keyPem),
    rootCertPem,
    ...(certChainPem ? { certChainPem } : {}),
  });
  if (!r.ok) throw new Error(r.errors);
  return new CertificateAuthority(r.value);
}

function fromStored(stored: StoredCa, now: Date): CertificateAuthority {
  const retired = stored.retired.filter((r) => Date.parse(r.keepUntil) > now.getTime()).map((r) => r.pem);
  return new CertificateAuthority({
    signingCertPem: stored.certPem,
    signingKey: loadPrivateKey(stored.keyPem),
    intermediatePems: [],
    rootPem: stored.certPem,
    previousRootPems: retired,
  });
}

async function newRoot(opts: SelfSignedOptions, now: Date): Promise<{ certPem: string; keyPem: string }> {
  const key = await generateKey({ algorithm: opts.algorithm, rsaBits: opts.rsaBits });
  const certPem = createSelfSignedCa({ key, organization: opts.organization, ttlMs: opts.rootTtlMs, now });
  return { certPem, keyPem: privateKeyPem(key) };
}

/** Loads the stored self-signed CA, or creates and stores one. */
export async function loadSelfSignedCa(
  opts: SelfSignedOptions,
  now = new Date(),
): Promise<{ ca: CertificateAuthority; created: boolean }> {
  const stored = await opts.store.load();
  if (stored) return { ca: fromStored(stored, now), created: false };
  const fresh: StoredCa = { ...(await newRoot(opts, now)), retired: [] };
  const ca = fromStored(fresh, now);
  try {
    await opts.store.create(fresh, ca.trustBundle().join(''));
  } catch (e) {
    // Another replica created the root first (replicas starting together): use theirs.
    const theirs = await opts.store.load();
    if (!theirs) throw e;
    return { ca: fromStored(theirs, now), created: false };
  }
  return { ca, created: true };
}

/** Replaces the root: new key and certificate; the old root is kept in the bundle for `overlapMs`. */
export async function rotateSelfSignedCa(
  opts: SelfSignedOptions,
  current: CertificateAuthority,
  now = new Date(),
): Promise<CertificateAuthority> {
  const stored = (await opts.store.load()) ?? {
    certPem: current.rootPem(),
    keyPem: privateKeyPem(current.material.signingKey),
    retired: [],
  };
  const keepUntil = new Date(now.getTime() + opts.overlapMs).toISOString();
  const retired = [
    { pem: stored.certPem, keepUntil },
    ...stored.retired.filter(
      (r) => Date.parse(r.keepUntil) > now.getTime() && fingerprint(r.pem) !== fingerprint(stored.certPem),
    ),
  ];
  const next: StoredCa = { ...(await newRoot(opts, now)), retired };
  const ca = fromStored(next, now);
  await opts.store.save(next, ca.trustBundle().join(''));
  return ca;
}

/** True when less than `ratio` of the root's lifetime is left. */
export function rootNeedsRotation(ca: CertificateAuthority, ratio: number, now = new Date()): boolean {
  const x = new X509Certificate(ca.material.rootPem);
  const from = Date.parse(x.validFrom);
  const to = Date.parse(x.validTo);
  return to - now.getTime() < (to - from) * ratio;
}
