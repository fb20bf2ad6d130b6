import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '@keel/runtime';
import { tempDir, waitFor } from '@keel/testing';
import { createEnvoyRunner } from '../src/index.js';

test('Envoy is restarted with the next epoch when it exits, and stopped on shutdown', async () => {
  const dir = await tempDir('envoy');
  const bin = path.join(dir.path, 'envoy');
  const calls = path.join(dir.path, 'calls');
  // A stand-in binary: records its arguments, fails the first time, then runs until signalled.
  writeFileSync(
    bin,
    `#!/bin/sh\necho "$@" >> ${calls}\nif [ ! -f ${calls}.once ]; then touch ${calls}.once; exit 1; fi\nexec sleep 60\n`,
  );
  chmodSync(bin, 0o755);
  const configs: number[] = [];
  const runner = createEnvoyRunner({
    binaryPath: bin,
    configFile: async (epoch) => {
      configs.push(epoch);
      return path.join(dir.path, `envoy-rev${epoch}.json`);
    },
    serviceCluster: 'c',
    serviceNode: 'sidecar~1.2.3.4~p.ns~ns.svc.cluster.local',
    drainDurationMs: 45_000,
    parentShutdownDurationMs: 60_000,
    logLevel: 'warning',
    componentLogLevel: 'misc:error',
    concurrency: 0,
    adminPort: 1,
    ipv6: false,
    initialBackoffMs: 50,
    logger: silentLogger,
  });
  try {
    await runner.start();
    await waitFor(() => runner.epoch() === 1 && runner.running());
    await waitFor(() => readFileSync(calls, 'utf8').trim().split('\n').length === 2);
    const lines = readFileSync(calls, 'utf8').trim().split('\n');
    assert.match(lines[0]!, /-c \S+envoy-rev0.json --restart-epoch 0 /);
    assert.match(lines[1]!, /-c \S+envoy-rev1.json --restart-epoch 1 /);
    assert.deepEqual(configs, [0, 1]);
  } finally {
    await runner.stop(0);
    assert.equal(runner.running(), false);
    await dir.cleanup();
  }
});
