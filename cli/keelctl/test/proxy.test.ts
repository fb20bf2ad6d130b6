// keelctl proxy-status / proxy-config: argument parsing, formatting, and an unreachable NATS.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { freePort, repoRoot } from '@keel/testing';
import {
  formatClusters,
  formatEndpoints,
  formatProxyStatus,
  parseProxyArgs,
  proxyName,
} from '../src/proxy.js';

const MAIN = path.join(repoRoot(), 'cli', 'keelctl', 'dist', 'src', 'main.js');

test('parseProxyArgs: flags, positionals and usage errors', () => {
  assert.deepEqual(
    parseProxyArgs(['cluster', 'a.b', '--timeout=500', '-o', 'json', '--nats-url', 'nats://x:1']),
    {
      positional: ['cluster', 'a.b'],
      timeoutMs: 500,
      output: 'json',
      natsUrl: 'nats://x:1',
    },
  );
  assert.match(String(parseProxyArgs(['--timeout', 'soon'])), /--timeout needs milliseconds/);
  assert.match(String(parseProxyArgs(['-o', 'yaml'])), /must be short or json/);
  assert.match(String(parseProxyArgs(['--bogus'])), /unknown option --bogus/);
});

test('proxy-status: one row per proxy and replica, sorted, istioctl columns', () => {
  const lines = formatProxyStatus([
    {
      pilot: 'pilot-b',
      proxies: [
        {
          proxy: 'sidecar~10.0.0.2~b-0.ns~ns.svc.cluster.local',
          cds: 'SYNCED',
          lds: 'STALE',
          eds: 'SYNCED',
          rds: 'NOT SENT',
          version: '1.4.10',
        },
      ],
    },
    {
      pilot: 'pilot-a',
      proxies: [
        {
          proxy: 'sidecar~10.0.0.1~a-0.ns~ns.svc.cluster.local',
          cds: 'SYNCED',
          lds: 'SYNCED',
          eds: 'SYNCED',
          rds: 'SYNCED',
        },
      ],
    },
  ]);
  assert.deepEqual(
    lines.map((l) => l.split(/\s{3,}/)),
    [
      ['NAME', 'CDS', 'LDS', 'EDS', 'RDS', 'PILOT', 'VERSION'],
      ['a-0.ns', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', 'pilot-a'],
      ['b-0.ns', 'SYNCED', 'STALE', 'SYNCED', 'NOT SENT', 'pilot-b', '1.4.10'],
    ],
  );
  assert.equal(proxyName('not-a-node-id'), 'not-a-node-id');
});

test('proxy-config views read either proto-JSON spelling of the config dump', () => {
  const dump = {
    configs: [
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
        dynamic_active_clusters: [
          { cluster: { name: 'outbound|9080|v1|reviews.default.svc.cluster.local', type: 'EDS' } },
          { cluster: { name: 'BlackHoleCluster', type: 'STATIC' } },
        ],
      },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump',
        dynamicEndpointConfigs: [
          {
            endpointConfig: {
              clusterName: 'outbound|9080||reviews.default.svc.cluster.local',
              endpoints: [
                {
                  lbEndpoints: [
                    { endpoint: { address: { socketAddress: { address: '10.0.0.3', portValue: 9080 } } } },
                  ],
                },
              ],
            },
          },
        ],
      },
    ],
  };
  assert.deepEqual(
    formatClusters(dump).map((l) => l.split(/\s{3,}/)),
    [
      ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE'],
      ['reviews.default.svc.cluster.local', '9080', 'v1', 'outbound', 'EDS'],
      ['BlackHoleCluster', '-', '-', '-', 'STATIC'],
    ],
  );
  assert.deepEqual(formatEndpoints(dump)[1]!.split(/\s{3,}/), [
    '10.0.0.3:9080',
    'HEALTHY',
    'outbound|9080||reviews.default.svc.cluster.local',
  ]);
});

test('proxy-status with NATS unreachable: a clear error, exit 1, no hang', async () => {
  const port = await freePort();
  const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      [MAIN, 'proxy-status', '--nats-url', `nats://127.0.0.1:${port}`, '--timeout', '300'],
      { timeout: 10_000 },
      (err, _out, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr }),
    ),
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+ within 300 ms/);
});
