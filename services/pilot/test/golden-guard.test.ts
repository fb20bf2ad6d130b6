// KEEL_UPDATE_GOLDEN must not rewrite goldens in CI.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import { expectGolden, goldenPath } from './golden.js';

it('KEEL_UPDATE_GOLDEN refuses to run when CI is set', () => {
  const saved = { update: process.env.KEEL_UPDATE_GOLDEN, ci: process.env.CI };
  try {
    process.env.KEEL_UPDATE_GOLDEN = '1';
    process.env.CI = 'true';
    assert.throws(() => expectGolden('never-written-in-ci', { a: 1 }), /refuses to run when CI is set/);
    assert.equal(existsSync(goldenPath('never-written-in-ci')), false);
  } finally {
    for (const [k, v] of [
      ['KEEL_UPDATE_GOLDEN', saved.update],
      ['CI', saved.ci],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
