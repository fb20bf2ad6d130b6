// Keeps the CA signing benchmark working: one quick run against real citadel processes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { repoRoot } from '@keel/testing';
import { caSigning, opensslSignRate } from '../src/ca-signing.js';

test('ca-signing: citadel processes answer the raw load client, and openssl speed is read', async () => {
  const ctx = {
    runs: 1,
    quick: true,
    serverPrefix: [],
    repoRoot: repoRoot(),
    noBaseline: true,
    log: () => {},
  };
  const result = await caSigning.run(ctx);
  assert.deepEqual(
    result.rows.map((r) => r.name),
    ['ca-signing rsa2048 CreateCertificate', 'ca-signing p256 CreateCertificate'],
  );
  for (const row of result.rows) assert.ok(row.figure > 0, `${row.name}: ${row.figure}`);
  assert.ok(opensslSignRate(ctx, 'ecdsap256', 1) > 1000);
});
