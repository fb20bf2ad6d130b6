// Strict golden files: test/golden/<name>.json holds JSON.stringify(value, null, 2); a mismatch fails.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the nearest directory above this module holding package.json), not dist. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('no package.json above the golden helper');
    dir = parent;
  }
  return dir;
}

export function goldenPath(name: string): string {
  return path.join(packageRoot(), 'test', 'golden', `${name}.json`);
}

/** Compares `value` with the golden file; KEEL_UPDATE_GOLDEN=1 rewrites the file instead (refused when CI is set). */
export function expectGolden(name: string, value: unknown): void {
  const file = goldenPath(name);
  const actual = `${JSON.stringify(value, null, 2)}\n`;
  if (process.env.KEEL_UPDATE_GOLDEN === '1') {
    // Goldens are never regenerated in CI: an update there would make every golden test pass.
    if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false')
      throw new Error(
        'KEEL_UPDATE_GOLDEN refuses to run when CI is set; update goldens locally and commit them',
      );
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `golden ${file} is missing; run with KEEL_UPDATE_GOLDEN=1 to create it`);
  // Line arrays so a mismatch prints a line diff.
  assert.deepEqual(
    actual.split('\n'),
    readFileSync(file, 'utf8').split('\n'),
    `golden ${name} differs (KEEL_UPDATE_GOLDEN=1 to update)`,
  );
}
