// A restarted galley is followed by pilot within 5 s, however long it was down (the MCP sink's
// jittered backoff is capped at 2 s, and so is the gRPC channel's own reconnect backoff).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type TempDir, tempDir } from '@keel/testing';
import {
  type GalleyProcess,
  type PilotProcess,
  recordingSink,
  startGalley,
  startPilot,
} from '../src/index.js';

const GW = `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`;

describe('pilot follows a restarted galley', () => {
  let dir: TempDir;
  let galley: GalleyProcess;
  let pilot: PilotProcess;

  before(async () => {
    dir = await tempDir('e2e-reconnect');
    await writeFile(path.join(dir.path, 'gw.yaml'), GW);
    galley = await startGalley({ configDir: dir.path });
    pilot = await startPilot({ mcpAddress: galley.mcpAddress });
    await pilot.proc.waitForLine(/"msg":"MCP source connected"/, 10_000);
  });
  after(async () => {
    await pilot?.stop();
    await galley?.stop();
    await dir?.cleanup();
  });

  it('reconnects within 5 s of galley coming back after 16 s down', async () => {
    const mcpPort = galley.mcpPort;
    await galley.stop();
    await pilot.proc.waitForLine(/"msg":"MCP source disconnected"/, 5000);
    // Let several reconnect attempts fail (the old backoff reached 16 s here, and the channel's own kept growing).
    const failures = () =>
      pilot.proc.stdoutLines.filter((l) => l.includes('"msg":"MCP sink reconnecting"')).length;
    const start = failures();
    const downSince = performance.now();
    while (performance.now() - downSince < 16_000 || failures() - start < 3) {
      await pilot.proc.waitForLine(/"msg":"MCP sink reconnecting"/, 10_000).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
    const connectedBefore = pilot.proc.stdoutLines.filter((l) =>
      l.includes('"msg":"MCP source connected"'),
    ).length;
    galley = await startGalley({ configDir: dir.path, extraArgs: ['--mcp-port', String(mcpPort)] });
    const back = performance.now();
    const deadline = back + 5000;
    while (
      pilot.proc.stdoutLines.filter((l) => l.includes('"msg":"MCP source connected"')).length <=
      connectedBefore
    ) {
      assert.ok(performance.now() < deadline, 'pilot reconnected within 5 s of galley listening');
      await new Promise((r) => setTimeout(r, 50));
    }
    const took = performance.now() - back;
    assert.ok(took < 5000, `reconnected after ${Math.round(took)} ms`);
  });
});

describe('MCP message limit and the resource cap', () => {
  let dir: TempDir;
  let galley: GalleyProcess;

  before(async () => {
    dir = await tempDir('e2e-mcp-limit');
    // Four resources just under galley's 1.5 MiB cap: one collection response of about 5.6 MB,
    // over gRPC's default 4 MiB receive limit.
    const big = 'x'.repeat(1400 * 1024);
    const docs = [1, 2, 3, 4].map(
      (i) => `apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: big-${i}, namespace: default}
spec:
  compiledAdapter: noop
  params: {blob: "${big}"}
`,
    );
    await writeFile(path.join(dir.path, 'big.yaml'), docs.join('---\n'));
    galley = await startGalley({ configDir: dir.path });
  });
  after(async () => {
    await galley?.stop();
    await dir?.cleanup();
  });

  it('a sink receives a collection of maximal resources (no RESOURCE_EXHAUSTED loop)', async () => {
    const { sink, updates } = recordingSink(galley.mcpAddress, ['istio/policy/v1beta1/handlers']);
    sink.start();
    try {
      const u = await updates.next((x) => x.resources.length === 4, 'four big handlers', 10_000);
      assert.equal(u.value.resources.length, 4);
    } finally {
      await sink.stop();
    }
  });
});
