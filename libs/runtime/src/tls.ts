import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Logger, silentLogger } from './logger.js';
import type { Result } from './result.js';
import { watchTree } from './watch-tree.js';

/** PEM text of a verified pair (and CA bundle). */
export interface TlsMaterial {
  cert: string;
  key: string;
  ca?: string;
}

export interface WatchTlsOptions {
  certFile: string;
  keyFile: string;
  caFile?: string;
  /** Called with each new valid pair (not for the initial load). */
  onChange?: (material: TlsMaterial) => void;
  logger?: Logger;
  /** Quiet time after the last file event before re-reading (default 100 ms). */
  debounceMs?: number;
}

export interface TlsWatcher {
  /** The last valid material. */
  current(): TlsMaterial;
  close(): void;
}

/** Reads the files and checks that they parse and that the key belongs to the certificate. */
export async function loadTlsFiles(files: {
  certFile: string;
  keyFile: string;
  caFile?: string;
}): Promise<Result<TlsMaterial, string>> {
  let material: TlsMaterial;
  try {
    const [cert, key, ca] = await Promise.all([
      readFile(files.certFile, 'utf8'),
      readFile(files.keyFile, 'utf8'),
      files.caFile ? readFile(files.caFile, 'utf8') : Promise.resolve(undefined),
    ]);
    material = ca === undefined ? { cert, key } : { cert, key, ca };
  } catch (e) {
    return { ok: false, errors: `reading TLS files: ${(e as Error).message}` };
  }
  try {
    const x509 = new X509Certificate(material.cert);
    const privateKey = createPrivateKey(material.key);
    if (!x509.checkPrivateKey(privateKey)) {
      return { ok: false, errors: `${files.keyFile} does not match the certificate in ${files.certFile}` };
    }
    if (material.ca !== undefined) new X509Certificate(material.ca);
  } catch (e) {
    return { ok: false, errors: `parsing TLS files: ${(e as Error).message}` };
  }
  return { ok: true, value: material };
}

/**
 * Loads the pair, then reloads whenever a file in their directories changes. A new pair that does
 * not parse or match is logged and ignored; the old one stays current. Rejects if the first load fails.
 */
export async function watchTlsFiles(options: WatchTlsOptions): Promise<TlsWatcher> {
  const logger = options.logger ?? silentLogger;
  const first = await loadTlsFiles(options);
  if (!first.ok) throw new Error(first.errors);
  let material = first.value;
  let closed = false;

  const reload = async () => {
    const next = await loadTlsFiles(options);
    if (closed) return;
    if (!next.ok) {
      logger.warn({ error: next.errors }, 'keeping the previous TLS certificate');
      return;
    }
    const same =
      next.value.cert === material.cert && next.value.key === material.key && next.value.ca === material.ca;
    if (same) return;
    material = next.value;
    logger.info({ certFile: options.certFile }, 'TLS certificate reloaded');
    options.onChange?.(material);
  };
  // Directories, not files: renames (Kubernetes secret updates swap a symlink) replace inodes. The one
  // directory watcher of libs/runtime (watch-tree.ts) settles the events.
  const files = [options.certFile, options.keyFile, options.caFile].filter((f): f is string => !!f);
  const dirs = [...new Set(files.map((f) => path.dirname(path.resolve(f))))];
  const tree = watchTree(dirs[0]!, () => void reload(), { settleMs: options.debounceMs ?? 100 });
  tree.setDirectories(dirs);

  return {
    current: () => material,
    close() {
      closed = true;
      tree.close();
    },
  };
}
