import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProtoDuration, parseGoDuration, protoDurationOf, toProtoDuration } from '../src/index.js';

describe('parseGoDuration (Go time.ParseDuration grammar)', () => {
  const ok: Array<[string, bigint]> = [
    ['0', 0n],
    ['1m30s', 90_000_000_000n],
    ['1.5s', 1_500_000_000n],
    ['.5s', 500_000_000n],
    ['1.s', 1_000_000_000n],
    ['500ms', 500_000_000n],
    ['1h2m3s4ms5us6ns', 3_723_004_005_006n],
    ['2µs', 2_000n],
    ['-1.5h', -5_400_000_000_000n],
    ['+3s', 3_000_000_000n],
  ];
  for (const [text, ns] of ok)
    it(text, () => assert.deepEqual(parseGoDuration(text), { ok: true, value: ns }));
  const bad: Array<[string, string]> = [
    ['', 'time: invalid duration '],
    ['1', 'time: missing unit in duration 1'],
    ['1d', 'time: unknown unit d in duration 1d'],
    ['.s', 'time: invalid duration .s'],
    ['1s 2s', 'time: unknown unit s  in duration 1s 2s'],
    ['3000000h', 'time: invalid duration 3000000h'],
    ['9'.repeat(200), `time: invalid duration ${'9'.repeat(200)}`],
  ];
  for (const [text, msg] of bad)
    it(`rejects ${JSON.stringify(text.slice(0, 12))}`, () =>
      assert.deepEqual(parseGoDuration(text), { ok: false, errors: msg }));
});

describe('google.protobuf.Duration forms', () => {
  for (const [ns, text] of [
    [90_000_000_000n, '90s'],
    [1_500_000_000n, '1.500s'],
    [1_000_500n, '0.001000500s'],
    [1_000n, '0.000001s'],
    [-1_500_000_000n, '-1.500s'],
    [0n, '0s'],
  ] as const) {
    it(`${ns} ns = ${text}`, () => {
      assert.equal(formatProtoDuration(ns), text);
      assert.deepEqual(parseGoDuration(text), { ok: true, value: ns });
    });
  }
  it('object form', () => {
    assert.deepEqual(toProtoDuration(3_723_004_005_006n), { seconds: 3723, nanos: 4_005_006 });
    assert.deepEqual(protoDurationOf('1m30s'), { seconds: 90, nanos: 0 });
    assert.equal(protoDurationOf('soon'), undefined);
  });
});
