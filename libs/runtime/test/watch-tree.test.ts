import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { watchTree } from '../src/watch-tree.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'keel-watch-'));
  dirs.push(d);
  return d;
};

/** A callback and a way to wait for its n-th call. */
function counter() {
  let calls = 0;
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  return {
    fn: () => {
      calls += 1;
      for (const w of waiting.filter((x) => calls >= x.n)) w.resolve();
    },
    calls: () => calls,
    /**
     * Resolves at the n-th call; rejects after 5 s. (Its timer also keeps the process alive while waiting:
     * the watchers and the rescan timer do not, by design.)
     */
    reach: (n: number) =>
      new Promise<void>((resolve, reject) => {
        if (calls >= n) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`onChange called ${calls} times, waited for ${n}`)),
          5000,
        );
        waiting.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      }),
  };
}

test('a write and a rename-on-save in a watched directory run onChange once settled, naming the paths', {
  timeout: 10_000,
}, async () => {
  const dir = tempDir();
  const c = counter();
  const tree = watchTree(dir, c.fn, { settleMs: 20 });
  try {
    tree.setDirectories([dir]);
    writeFileSync(join(dir, 'a.yaml'), 'x: 1\n');
    await c.reach(1);
    assert.ok(tree.takeChanged().has(join(dir, 'a.yaml')));
    writeFileSync(join(dir, '.a.yaml.tmp'), 'x: 2\n');
    renameSync(join(dir, '.a.yaml.tmp'), join(dir, 'a.yaml'));
    await c.reach(2);
    assert.ok(tree.takeChanged().has(join(dir, 'a.yaml')), 'the renamed-over file is named');
  } finally {
    tree.close();
  }
});

test('the periodic rescan runs onChange with no event at all (the backstop to a missed event), and stops on close', {
  timeout: 10_000,
}, async () => {
  const dir = tempDir();
  const c = counter();
  // No directory is watched: only the rescan can call onChange.
  const tree = watchTree(dir, c.fn, { settleMs: 10_000, rescanIntervalMs: 30 });
  try {
    await c.reach(2);
    tree.close();
    const at = c.calls();
    // Three more periods pass (a timer of this test, not the watcher's): nothing more is called.
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(c.calls(), at);
  } finally {
    tree.close();
  }
});
