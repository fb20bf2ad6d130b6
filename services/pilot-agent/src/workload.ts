// The workload certificate: a local key and CSR signed by Citadel (first with the bearer token, then
// renewed with the current certificate), renewed within the grace period, written atomically to
// --output-certs when asked.

import { X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import {
  CaClient,
  createCsr,
  fingerprint,
  generateKey,
  type KeyAlgorithm,
  privateKeyPem,
  splitCertificates,
  writeCertFiles,
} from '@keel/pki';
import type { Logger } from '@keel/runtime';
import type { SecretMaterial } from './sds.js';

export interface WorkloadCertOptions {
  caAddress: string;
  caRootFile: string;
  tokenPath: string;
  ttlMs: number;
  graceRatio: number;
  keyAlgorithm: KeyAlgorithm;
  outputDir?: string;
  logger: Logger;
  /** First retry delay after a failed request (INITIAL_BACKOFF_MSEC, 2000); doubles up to 60 s. */
  initialBackoffMs?: number;
}

export interface WorkloadCerts extends EventEmitter {
  /** Resolves once the first certificate is in hand. */
  start(): Promise<SecretMaterial>;
  current(): SecretMaterial | undefined;
  /** Renews now (tests and SIGHUP). */
  renew(): Promise<SecretMaterial>;
  stop(): void;
  /** Renewals done so far (the first issue not counted). */
  renewals(): number;
}

export function createWorkloadCerts(opts: WorkloadCertOptions): WorkloadCerts {
  const log = opts.logger;
  const events = new EventEmitter() as WorkloadCerts;
  let material: SecretMaterial | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let renewCount = 0;
  let version = 0;

  async function request(): Promise<SecretMaterial> {
    const roots = await readFile(opts.caRootFile, 'utf8').catch((e: Error) => {
      throw new Error(`reading the CA root ${opts.caRootFile}: ${e.message}`);
    });
    const key = await generateKey({ algorithm: opts.keyAlgorithm });
    const keyPem = privateKeyPem(key);
    const useCert = material && Date.parse(new X509Certificate(material.certChainPem).validTo) > Date.now();
    const client = new CaClient({
      address: opts.caAddress,
      rootPem: roots,
      ...(useCert ? { clientCert: { certChainPem: material!.certChainPem, keyPem: material!.keyPem } } : {}),
    });
    try {
      const token = useCert ? undefined : (await readFile(opts.tokenPath, 'utf8')).trim();
      const chain = await client.createCertificate({
        csrPem: createCsr({ key }),
        validitySeconds: Math.floor(opts.ttlMs / 1000),
        ...(token !== undefined ? { token } : {}),
      });
      if (chain.length < 2) throw new Error(`Citadel returned ${chain.length} certificates`);
      const leaf = new X509Certificate(chain[0]!);
      if (!leaf.checkPrivateKey(key)) throw new Error('Citadel signed a different key');
      // The trust bundle: the chain's root plus every root Citadel publishes (old and new during a rotation).
      const bundle = new Map<string, string>();
      for (const r of [chain[chain.length - 1]!, ...splitCertificates(roots)]) bundle.set(fingerprint(r), r);
      version++;
      return {
        certChainPem: chain.slice(0, -1).join(''),
        keyPem,
        rootPem: [...bundle.values()].join(''),
        version: `${version}-${leaf.serialNumber.toLowerCase()}`,
      };
    } finally {
      client.close();
    }
  }

  function schedule(m: SecretMaterial): void {
    const leaf = new X509Certificate(m.certChainPem);
    const from = Date.parse(leaf.validFrom);
    const to = Date.parse(leaf.validTo);
    const at = to - (to - from) * opts.graceRatio;
    clearTimeout(timer);
    timer = setTimeout(() => void renewWithRetry(), Math.max(0, at - Date.now()));
    timer.unref();
  }

  async function install(m: SecretMaterial): Promise<SecretMaterial> {
    material = m;
    if (opts.outputDir) await writeCertFiles(opts.outputDir, m);
    schedule(m);
    const leaf = new X509Certificate(m.certChainPem);
    log.info(
      { serial: leaf.serialNumber, notAfter: leaf.validTo, san: leaf.subjectAltName },
      'workload certificate installed',
    );
    events.emit('update', m);
    return m;
  }

  async function renewWithRetry(): Promise<void> {
    let delay = opts.initialBackoffMs ?? 2000;
    while (!stopped) {
      try {
        await install(await request());
        renewCount++;
        return;
      } catch (e) {
        log.warn({ err: String(e), retryInMs: delay }, 'certificate renewal failed');
        await new Promise((r) => setTimeout(r, delay).unref());
        delay = Math.min(delay * 2, 60_000);
      }
    }
  }

  events.start = async () => {
    let delay = opts.initialBackoffMs ?? 2000;
    for (;;) {
      try {
        return await install(await request());
      } catch (e) {
        if (stopped) throw e;
        log.warn({ err: String(e), retryInMs: delay }, 'certificate request failed');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 60_000);
      }
    }
  };
  events.current = () => material;
  events.renew = async () => {
    const m = await install(await request());
    renewCount++;
    return m;
  };
  events.renewals = () => renewCount;
  events.stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  return events;
}
