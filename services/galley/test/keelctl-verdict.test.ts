// One model, one verdict: `keelctl validate` (the built CLI, spawned), Galley's ingest path and
// Galley's admission webhook accept and reject the same documents with the same messages.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ConfigError, formatError, kindFor, parseFile } from '@keel/config';
import { repoRoot, type TempDir, tempDir } from '@keel/testing';
import { stringify } from 'yaml';
import { Ingestor } from '../src/ingest.js';
import { ResourceStore } from '../src/store.js';
import { reviewConfig } from '../src/webhook.js';

const KEELCTL = path.join(repoRoot(), 'cli', 'keelctl', 'dist', 'src', 'main.js');
const NET = 'networking.istio.io/v1alpha3';

const vs = (name: string, http: unknown[]) => ({
  apiVersion: NET,
  kind: 'VirtualService',
  metadata: { name, namespace: 'default' },
  spec: { hosts: ['reviews'], http },
});
const dr = (name: string, trafficPolicy: unknown) => ({
  apiVersion: NET,
  kind: 'DestinationRule',
  metadata: { name, namespace: 'default' },
  spec: { host: 'reviews', trafficPolicy },
});
const route = [{ destination: { host: 'reviews' } }];
const CFG = 'config.istio.io/v1alpha2';
const mixer = (kind: string, name: string, spec: unknown) => ({
  apiVersion: CFG,
  kind,
  metadata: { name, namespace: 'istio-system' },
  spec,
});

const CASES: Array<[string, Record<string, unknown>]> = [
  [
    'fault with proto names',
    vs('a', [{ fault: { abort: { http_status: 500, percentage: { value: 10 } } }, route }]),
  ],
  [
    'fault with JSON names',
    vs('b', [{ fault: { abort: { httpStatus: 500, percentage: { value: 10 } } }, route }]),
  ],
  ['retries per_try_timeout 1m30s', vs('c', [{ retries: { attempts: 2, per_try_timeout: '1m30s' }, route }])],
  ...['90s', '1.5s', '500ms', '1h'].map((d): [string, Record<string, unknown>] => [
    `timeout ${d}`,
    vs(`t${d.replace('.', '-')}`, [{ timeout: d, route }]),
  ]),
  ['timeout 1x', vs('bad1', [{ timeout: '1x', route }])],
  ['timeout without unit', vs('bad2', [{ timeout: '5', route }])],
  ['timeout below 1ms', vs('bad3', [{ timeout: '999us', route }])],
  ['outlier interval 1m30s', dr('d', { outlierDetection: { interval: '1m30s', base_ejection_time: '90s' } })],
  ['connect timeout with ns precision', dr('bad4', { connectionPool: { tcp: { connectTimeout: '1s1ns' } } })],
  [
    'Host header set (translated, not rejected)',
    vs('host', [{ headers: { request: { set: { Host: 'x' } } }, route }]),
  ],
  ['unknown field', vs('bad5', [{ route, timeoutt: '1s' }])],
  [
    'authentication Policy with proto names',
    {
      apiVersion: 'authentication.istio.io/v1alpha1',
      kind: 'Policy',
      metadata: { name: 'default', namespace: 'default' },
      spec: {
        peers: [{ mtls: {} }],
        peer_is_optional: true,
        origins: [{ jwt: { issuer: 'i', jwks_uri: 'https://example.com/keys' } }],
      },
    },
  ],
  [
    'authentication Policy with a bad jwks_uri',
    {
      apiVersion: 'authentication.istio.io/v1alpha1',
      kind: 'Policy',
      metadata: { name: 'default', namespace: 'default' },
      spec: { origins: [{ jwt: { issuer: 'i', jwks_uri: 'not a url' } }] },
    },
  ],
  [
    'EnvoyFilter patch (Struct value kept as written)',
    {
      apiVersion: NET,
      kind: 'EnvoyFilter',
      metadata: { name: 'ef', namespace: 'default' },
      spec: {
        config_patches: [
          {
            apply_to: 'CLUSTER',
            match: { context: 'SIDECAR_OUTBOUND' },
            patch: {
              operation: 'MERGE',
              value: { outlier_detection: { max_ejection_percent: { value: 200 } } },
            },
          },
        ],
      },
    },
  ],
  [
    'mixer handler with proto names (compiled_adapter, valid_duration)',
    mixer('handler', 'deny', {
      compiled_adapter: 'denier',
      params: { status: { code: 7 }, valid_duration: '1m30s', valid_use_count: 3 },
    }),
  ],
  ['mixer handler with two adapters', mixer('handler', 'both', { compiledAdapter: 'denier', adapter: 'x' })],
  [
    'mixer instance with proto names (compiled_template, span_tags)',
    mixer('instance', 'span', {
      compiled_template: 'tracespan',
      params: { trace_id: 'request.headers["x-b3-traceid"]', span_tags: { api: '"v1"' } },
    }),
  ],
  ['mixer instance without a template', mixer('instance', 'none', { params: {} })],
  [
    'mixer rule with a rate_limit sampling_duration of 1m30s',
    mixer('rule', 'r', {
      actions: [{ handler: 'deny', instances: ['span'] }],
      sampling: { rate_limit: { sampling_duration: '1m30s', max_unsampled_entries: 5, sampling_rate: 2 } },
    }),
  ],
  [
    'mixer rule with a bad sampling duration',
    mixer('rule', 'bad', {
      actions: [{ handler: 'deny' }],
      sampling: { rateLimit: { samplingDuration: '1x' } },
    }),
  ],
  ['mixer rule action without a handler', mixer('rule', 'nohandler', { actions: [{ instances: ['span'] }] })],
  [
    'attributemanifest with proto names and a bad value_type',
    mixer('attributemanifest', 'am', { attributes: { 'source.ip': { value_type: 'IP' } } }),
  ],
  [
    'legacy memquota with proto names',
    mixer('memquota', 'quota', {
      quotas: [{ name: 'rq.quota.istio-system', max_amount: 5, valid_duration: '1s' }],
    }),
  ],
  [
    'QuotaSpecBinding with proto names',
    mixer('QuotaSpecBinding', 'qsb', { services: [{ name: 'reviews' }], quota_specs: [{ name: 'rq' }] }),
  ],
  ['QuotaSpecBinding without specs', mixer('QuotaSpecBinding', 'qsb2', { services: [{ name: 'reviews' }] })],
];

/** The Mixer cases' expected verdicts (the others are checked for agreement only). */
const MIXER_VALID: Record<string, boolean> = {
  'mixer handler with proto names (compiled_adapter, valid_duration)': true,
  'mixer handler with two adapters': false,
  'mixer instance with proto names (compiled_template, span_tags)': true,
  'mixer instance without a template': false,
  'mixer rule with a rate_limit sampling_duration of 1m30s': true,
  'mixer rule with a bad sampling duration': false,
  'mixer rule action without a handler': false,
  'attributemanifest with proto names and a bad value_type': false,
  'legacy memquota with proto names': true,
  'QuotaSpecBinding with proto names': true,
  'QuotaSpecBinding without specs': false,
};

function keelctl(file: string): Promise<{ code: number; lines: string[] }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [KEELCTL, 'validate', '-f', file], { timeout: 20_000 }, (err, stdout) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, lines: stdout.trim().split('\n').slice(0, -1) });
    });
  });
}

let dir: TempDir;
before(async () => {
  dir = await tempDir('keelctl-verdict-');
});
after(async () => dir.cleanup());

describe('keelctl validate and Galley give the same verdict', () => {
  for (const [name, doc] of CASES) {
    it(name, async () => {
      const file = path.join(dir.path, `${name.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
      await writeFile(file, stringify(doc));
      const cli = await keelctl(file);

      const parsed = await parseFile(file);
      const rejected: ConfigError[] = [];
      const ingest = new Ingestor(new ResourceStore(), {
        accepted: () => {},
        rejected: (e) => rejected.push(...e),
      });
      const summary = ingest.applyOriginSet(file, parsed.resources, parsed.errors);

      const info = kindFor(String(doc.apiVersion), String(doc.kind))!;
      const review = reviewConfig(info.webhook!, {
        uid: '1',
        kind: { group: info.group, version: info.version, kind: info.kind },
        resource: { group: info.group, version: info.version, resource: info.plural },
        operation: 'CREATE',
        userInfo: {},
        object: doc,
      } as never);

      const valid = cli.code === 0;
      if (name in MIXER_VALID) assert.equal(valid, MIXER_VALID[name], `keelctl says ${cli.lines.join('; ')}`);
      assert.equal(summary.accepted === 1, valid, 'ingest and keelctl agree');
      assert.equal(review.allowed, valid, 'webhook and keelctl agree');
      assert.deepEqual(cli.lines, rejected.map(formatError), 'same messages from keelctl and ingest');
      const message = review.allowed ? '' : review.message;
      for (const e of rejected) assert.ok(message.includes(e.message), `webhook says ${e.message}`);
    });
  }
});
