import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineFlags, parseDuration, parseFlags, usage } from '../src/index.js';

const spec = defineFlags({
  'mcp-port': { type: 'number', default: 9901, help: 'MCP gRPC port' },
  'config-path': { type: 'string', help: 'directory of YAML' },
  'enable-validation': { type: 'boolean', default: true },
  insecure: { type: 'boolean' },
  'debounce-after': { type: 'duration', default: '100ms' },
  'watched-namespace': { type: 'list' },
  'mesh-config': { type: 'string', env: 'MESH_CONFIG_FILE', default: '/etc/istio/mesh' },
  secret: { type: 'string', env: false },
});

describe('parseFlags', () => {
  it('gives defaults, with booleans false and lists empty when unset', () => {
    const r = parseFlags(spec, [], {});
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      'mcp-port': 9901,
      'config-path': undefined,
      'enable-validation': true,
      insecure: false,
      'debounce-after': 100,
      'watched-namespace': [],
      'mesh-config': '/etc/istio/mesh',
      secret: undefined,
    });
    const port: number = r.value['mcp-port'];
    assert.equal(port, 9901);
  });

  it('reads both flag forms, bare and explicit booleans, repeated lists and durations', () => {
    const r = parseFlags(
      spec,
      [
        '--mcp-port',
        '19901',
        '--config-path=/tmp/x',
        '--insecure',
        '--enable-validation=false',
        '--watched-namespace',
        'a',
        '--watched-namespace=b,c',
        '--debounce-after',
        '1m30s',
      ],
      {},
    );
    assert.ok(r.ok);
    assert.equal(r.value['mcp-port'], 19901);
    assert.equal(r.value['config-path'], '/tmp/x');
    assert.equal(r.value.insecure, true);
    assert.equal(r.value['enable-validation'], false);
    assert.deepEqual(r.value['watched-namespace'], ['a', 'b', 'c']);
    assert.equal(r.value['debounce-after'], 90_000);
  });

  it('takes env (KEEL_UPPER_SNAKE or the named variable) over defaults, and flags over env', () => {
    const env = {
      KEEL_MCP_PORT: '7000',
      KEEL_INSECURE: 'true',
      MESH_CONFIG_FILE: '/m',
      KEEL_WATCHED_NAMESPACE: 'x, y',
      KEEL_SECRET: 'ignored',
    };
    const fromEnv = parseFlags(spec, [], env);
    assert.ok(fromEnv.ok);
    assert.equal(fromEnv.value['mcp-port'], 7000);
    assert.equal(fromEnv.value.insecure, true);
    assert.equal(fromEnv.value['mesh-config'], '/m');
    assert.deepEqual(fromEnv.value['watched-namespace'], ['x', 'y']);
    assert.equal(fromEnv.value.secret, undefined);
    const fromFlag = parseFlags(spec, ['--mcp-port=8000', '--insecure=false'], env);
    assert.ok(fromFlag.ok);
    assert.equal(fromFlag.value['mcp-port'], 8000);
    assert.equal(fromFlag.value.insecure, false);
  });

  it('collects every error: unknown flags, bad values, missing values, positionals, bad env', () => {
    const r = parseFlags(spec, ['--nope', '1', '--mcp-port=abc', '--debounce-after=soon', '--config-path'], {
      KEEL_INSECURE: 'maybe',
    });
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, [
      'unknown flag --nope',
      "unexpected argument '1'",
      '--config-path needs a value',
      "--mcp-port: 'abc' is not a number",
      "--insecure: 'maybe' is not a boolean (from $KEEL_INSECURE)",
      "--debounce-after: invalid duration 'soon' (use e.g. 500ms, 10s, 1m, 1h30m)",
    ]);
  });

  it('reports a missing required flag', () => {
    const r = parseFlags(defineFlags({ root: { type: 'string', required: true } }), [], {});
    assert.deepEqual(r, { ok: false, errors: ['--root is required'] });
  });

  it('answers --help with the usage text', () => {
    const r = parseFlags(spec, ['--mcp-port=1', '--help'], {});
    assert.ok(!r.ok);
    assert.equal(r.errors.help, true);
    assert.equal(r.errors[0], usage(spec));
    assert.match(r.errors[0]!, /--mcp-port <number>\n\s+MCP gRPC port \(default 9901, \$KEEL_MCP_PORT\)/);
    assert.match(r.errors[0]!, /--secret <string>\n\s+$/m);
  });
});

describe('parseDuration', () => {
  for (const [text, ms] of [
    ['500ms', 500],
    ['10s', 10_000],
    ['1m', 60_000],
    ['1.5s', 1500],
    ['1h30m', 5_400_000],
    ['250', 250],
  ] as const) {
    it(`${text} = ${ms} ms`, () => assert.deepEqual(parseDuration(text), { ok: true, value: ms }));
  }
  for (const text of ['', '-1s', '5 s', '1d', 'ms', '1s2']) {
    it(`rejects '${text}'`, () => assert.equal(parseDuration(text).ok, false));
  }
});
