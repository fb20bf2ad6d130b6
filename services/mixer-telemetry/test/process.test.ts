// The real mixer-telemetry binary: flags and KEEL_* env, monitoring endpoints, not ready before
// Galley answers, graceful exit on SIGTERM.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, type RunningProcess, repoRoot, startProcess } from '@keel/testing';

describe('mixer-telemetry process', () => {
  let proc: RunningProcess;
  let ports: { grpcPort: number; metricsPort: number; monitoringPort: number };
  before(async () => {
    const nothing = await freePort();
    proc = await startProcess(
      process.execPath,
      [
        join(repoRoot(), 'services/mixer-telemetry/dist/src/main.js'),
        '--grpc-port',
        '0',
        '--metrics-port',
        '0',
        '--host',
        '127.0.0.1',
      ],
      {
        env: { KEEL_MCP_ADDRESS: `127.0.0.1:${nothing}`, KEEL_MONITORING_PORT: '0' },
        readyLine: /mixer-telemetry listening/,
        timeoutMs: 20_000,
      },
    );
    const line = [...proc.stdoutLines, ...proc.stderrLines].find((l) =>
      l.includes('mixer-telemetry listening'),
    )!;
    ports = JSON.parse(line);
  });
  after(async () => {
    if (proc.proc.exitCode === null) await proc.stop();
  });

  it('serves /healthz and /version, and is not ready while Galley is unreachable', async () => {
    const base = `http://127.0.0.1:${ports.monitoringPort}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal(
      ((await (await fetch(`${base}/version`)).json()) as { version: string }).version.length > 0,
      true,
    );
    assert.equal((await fetch(`${base}/ready`)).status, 503);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /mixer_runtime_dispatches_total/);
    assert.equal((await fetch(`http://127.0.0.1:${ports.metricsPort}/metrics`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${ports.metricsPort}/other`)).status, 404);
  });

  it('exits 0 on SIGTERM', async () => {
    proc.proc.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
  });
});
