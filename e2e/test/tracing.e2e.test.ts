// Galley and pilot export OpenTelemetry spans over OTLP/HTTP when KEEL_OTLP_ENDPOINT is set: a real
// HTTP collector receives galley.snapshot and pilot.push spans from the real processes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tempDir, withTimeout } from '@keel/testing';
import {
  copyLocalMesh,
  type GalleyProcess,
  localMesh,
  type PilotProcess,
  startGalley,
  startPilot,
} from '../src/index.js';

/** An OTLP/HTTP trace receiver that resolves once a posted batch names every wanted span. */
function collector(wanted: string[]): { server: Server; url: () => string; seen: Promise<void> } {
  const missing = new Set(wanted);
  let done: () => void = () => {};
  const seen = new Promise<void>((resolve) => {
    done = resolve;
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/v1/traces')
        for (const name of [...missing]) if (body.includes(name)) missing.delete(name);
      if (missing.size === 0) done();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  return { server, url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('OpenTelemetry traces from galley and pilot processes', () => {
  const otlp = collector(['galley.snapshot', 'pilot.push']);
  let dir: { path: string; cleanup(): Promise<void> };
  let galley: GalleyProcess;
  let pilot: PilotProcess;

  before(async () => {
    await new Promise<void>((resolve) => otlp.server.listen(0, '127.0.0.1', resolve));
    dir = await tempDir('e2e-tracing');
    await copyLocalMesh(dir.path, 9080);
    const env = { KEEL_OTLP_ENDPOINT: otlp.url() };
    galley = await startGalley({ configDir: dir.path, meshConfig: localMesh.meshConfig(), env });
    pilot = await startPilot({ mcpAddress: galley.mcpAddress, env });
  });

  after(async () => {
    await pilot?.stop();
    await galley?.stop();
    await dir?.cleanup();
    await new Promise((r) => otlp.server.close(r));
  });

  it('receives galley.snapshot and pilot.push spans', async () => {
    await withTimeout(otlp.seen, 20_000, 'spans from both processes');
  });
});
