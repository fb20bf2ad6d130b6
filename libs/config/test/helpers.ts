import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A path under `<repo>/../shared/testdata/istio-1.4.10/`. */
export function istioTestdata(...parts: string[]): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'pnpm-workspace.yaml'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('repo root not found');
    dir = parent;
  }
  return path.join(dir, '..', 'shared', 'testdata', 'istio-1.4.10', ...parts);
}
