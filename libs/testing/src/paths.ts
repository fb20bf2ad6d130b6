import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The monorepo root: the nearest ancestor of this module holding pnpm-workspace.yaml. */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) {
      cachedRoot = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** A path under the shared Istio 1.4.10 inputs: `<repo>/../shared/testdata/istio-1.4.10/...parts`. */
export function sharedTestdata(...parts: string[]): string {
  return path.join(repoRoot(), '..', 'shared', 'testdata', 'istio-1.4.10', ...parts);
}
