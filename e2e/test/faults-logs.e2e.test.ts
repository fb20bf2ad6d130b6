// Logs cap echoed input: a 1 MB node id (sent by a real gRPC client to the real pilot process) and
// a galley config file full of long junk never produce a log line longer than a few KB.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { serviceClient, TypeUrl } from '@keel/proto';
import { type TempDir, tempDir, withTimeout } from '@keel/testing';
import { type GalleyProcess, type PilotProcess, startGalley, startPilot } from '../src/index.js';

const MAX_LINE = 4096;

describe('log lines stay short whatever the input', () => {
  let dir: TempDir;
  let galley: GalleyProcess;
  let pilot: PilotProcess;

  before(async () => {
    dir = await tempDir('e2e-logs');
    const junk = 'y'.repeat(512 * 1024);
    await writeFile(
      path.join(dir.path, 'junk.yaml'),
      `apiVersion: networking.istio.io/v1alpha3\nkind: ${junk}\nmetadata: {name: ${junk}}\n---\n{"unterminated": "${junk}\n`,
    );
    galley = await startGalley({ configDir: dir.path });
    pilot = await startPilot({ mcpAddress: galley.mcpAddress });
  });
  after(async () => {
    await pilot?.stop();
    await galley?.stop();
    await dir?.cleanup();
  });

  it('a 1 MB node id is not written into pilot logs in full', async () => {
    const Ads = serviceClient('envoy.service.discovery.v3.AggregatedDiscoveryService');
    const client = new Ads(pilot.xdsAddress, grpc.credentials.createInsecure());
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const call = (client as any).StreamAggregatedResources();
        const closed = new Promise<void>((resolve) => {
          call.on('error', () => resolve());
          call.on('end', () => resolve());
        });
        call.on('data', () => {});
        call.write({ node: { id: 'n'.repeat(1024 * 1024) }, type_url: TypeUrl.Listener, resource_names: [] });
        await withTimeout(closed, 5000, 'pilot refusing the stream');
      }
    } finally {
      client.close();
    }
    await pilot.proc.waitForLine(/xds stream refused/, 5000);
    const long = pilot.proc.stdoutLines.filter((l) => l.length > MAX_LINE);
    assert.deepEqual(
      long.map((l) => l.slice(0, 200)),
      [],
      'no pilot log line over 4 KB',
    );
    const refused = pilot.proc.stdoutLines.filter((l) => l.includes('xds stream refused'));
    assert.ok(refused.length >= 1);
    assert.match(refused[0]!, /more chars/, 'the node id is cut, saying how much was left out');
  });

  it('junk config files are reported, not echoed', async () => {
    await galley.proc.waitForLine(/junk\.yaml/, 5000);
    const long = galley.proc.stdoutLines.filter((l) => l.length > MAX_LINE);
    assert.deepEqual(
      long.map((l) => l.slice(0, 200)),
      [],
      'no galley log line over 4 KB',
    );
  });
});
