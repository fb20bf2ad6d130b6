// keelctl proxy-status / proxy-config as a real process against two real Pilot replicas over a real
// nats-server, with a grpc-js-xds client on one replica and a gRPC C-core client on the other.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type NatsServer, repoRoot, startNats, type TempDir, tempDir } from '@keel/testing';
import {
  type Backends,
  freePortOn,
  type GalleyProcess,
  localMesh,
  nodeIdFor,
  type PilotProcess,
  startBackends,
  startGalley,
  startPilot,
} from '../src/index.js';
import {
  ccoreMatrixClient,
  ECHO_PODS,
  echoDestinationRule,
  FLAKY_POD,
  grpcJsMatrixClient,
  type MatrixClient,
  platformYaml,
  to,
  virtualService,
} from '../src/proxyless.js';

const run = promisify(execFile);
const KEELCTL = path.join(repoRoot(), 'cli', 'keelctl', 'dist', 'src', 'main.js');

describe('keelctl proxy-status and proxy-config over NATS, two pilot replicas', () => {
  let nats: NatsServer;
  let dir: TempDir;
  let backends: Backends;
  let galley: GalleyProcess;
  const pilots: PilotProcess[] = [];
  const clients: MatrixClient[] = [];

  const keelctl = async (...args: string[]) => {
    try {
      const { stdout } = await run(process.execPath, [
        KEELCTL,
        ...args,
        '--nats-url',
        nats.url,
        '--timeout',
        '800',
      ]);
      return { code: 0, stdout, stderr: '' };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  };

  before(async () => {
    nats = await startNats();
    const port = await freePortOn([...ECHO_PODS.map((p) => p.ip), FLAKY_POD.ip]);
    backends = await startBackends(
      ECHO_PODS.map((p) => ({ name: p.name, ip: p.ip })),
      port,
    );
    dir = await tempDir('e2e-proxy-status');
    await writeFile(path.join(dir.path, 'platform.yaml'), platformYaml(port));
    await writeFile(path.join(dir.path, 'dr.yaml'), echoDestinationRule());
    await writeFile(path.join(dir.path, 'vs.yaml'), virtualService('echo', [{ route: [to('v2')] }]));
    galley = await startGalley({
      configDir: dir.path,
      natsUrl: nats.url,
      meshConfig: localMesh.meshConfig(),
    });
    for (const name of ['pilot-a', 'pilot-b'])
      pilots.push(
        await startPilot({
          mcpAddress: galley.mcpAddress,
          natsUrl: nats.url,
          extraArgs: ['--pod-name', name],
        }),
      );
    clients.push(grpcJsMatrixClient(pilots[0]!.xdsAddress, nodeIdFor('status-js'), port));
    clients.push(await ccoreMatrixClient(pilots[1]!.xdsAddress, nodeIdFor('status-core'), port));
    for (const c of clients) {
      const deadline = Date.now() + 15_000;
      while (!(await c.call()).ok) assert.ok(Date.now() < deadline, `${c.kind} first call`);
    }
  });

  after(async () => {
    for (const c of clients) await c.close();
    for (const p of pilots) await p.stop();
    await galley?.stop();
    await backends?.stop();
    await nats?.stop();
    await dir?.cleanup();
  });

  it('proxy-status lists the proxies of both replicas, each SYNCED on every type, with its pilot', async () => {
    const { code, stdout } = await keelctl('proxy-status');
    assert.equal(code, 0, stdout);
    const lines = stdout.trimEnd().split('\n');
    assert.deepEqual(lines[0]!.split(/\s{3,}/), ['NAME', 'CDS', 'LDS', 'EDS', 'RDS', 'PILOT', 'VERSION']);
    const rows = lines.slice(1).map((l) => l.split(/\s{3,}/));
    assert.deepEqual(
      rows.map((r) => r.slice(0, 6)),
      [
        ['status-core.default', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', 'pilot-b'],
        ['status-js.default', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', 'pilot-a'],
      ],
    );
    const one = await keelctl('proxy-status', 'status-js.default');
    assert.equal(one.stdout.trimEnd().split('\n').length, 2);
  });

  it('proxy-config cluster|listener|route|endpoint shows what the replica serving the proxy sends', async () => {
    const cluster = await keelctl('proxy-config', 'cluster', 'status-core.default');
    assert.equal(cluster.code, 0, cluster.stderr);
    assert.match(cluster.stdout, /^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE$/m);
    assert.match(cluster.stdout, /^echo\.default\.svc\.cluster\.local\s+\d+\s+v2\s+outbound\s+EDS$/m);
    const listener = await keelctl('proxy-config', 'listener', 'status-core.default');
    assert.match(listener.stdout, /^echo\.default\.svc\.cluster\.local:\d+\s+-\s+API \(gRPC\)$/m);
    const route = await keelctl('proxy-config', 'route', 'status-js.default');
    assert.match(route.stdout, /^NOTE: This output only contains routes loaded via RDS\.$/m);
    assert.match(route.stdout, /^\d+\s+.*echo\.default\.svc\.cluster\.local:\d+/m);
    const endpoint = await keelctl('proxy-config', 'endpoint', 'status-js.default');
    for (const p of ECHO_PODS)
      assert.match(
        endpoint.stdout,
        new RegExp(`^${p.ip.replaceAll('.', '\\.')}:\\d+\\s+HEALTHY\\s+outbound\\|`, 'm'),
      );
    const json = await keelctl('proxy-config', 'cluster', 'status-js.default', '-o', 'json');
    assert.ok(JSON.parse(json.stdout).configs.length === 4);
  });

  it('proxy-config of an unknown proxy names it and exits 1; bad usage exits 2', async () => {
    const missing = await keelctl('proxy-config', 'cluster', 'nobody.default');
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /no Pilot replica serves nobody\.default .*pilot-a: proxy "nobody\.default" is not connected/,
    );
    const bad = await keelctl('proxy-config', 'secrets', 'x.default');
    assert.equal(bad.code, 2);
  });
});
