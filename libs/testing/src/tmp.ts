import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TempDir {
  path: string;
  /** Removes the directory and everything in it; safe to call twice. */
  cleanup(): Promise<void>;
}

/** A fresh directory under the OS temp dir, named `keel-${prefix}-XXXXXX`. */
export async function tempDir(prefix = 'test'): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `keel-${prefix}-`));
  return { path: dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
