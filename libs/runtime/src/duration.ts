import type { Result } from './result.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds in a Go-style duration: `500ms`, `10s`, `1.5m`, `1h30m`; a bare number is taken
 * as milliseconds. Negative durations are rejected.
 */
export function parseDuration(text: string): Result<number, string> {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return { ok: true, value: Number(s) };
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    part.lastIndex = pos;
    const m = part.exec(s);
    if (!m) return { ok: false, errors: `invalid duration '${text}' (use e.g. 500ms, 10s, 1m, 1h30m)` };
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = part.lastIndex;
  }
  if (s.length === 0) return { ok: false, errors: 'empty duration' };
  return { ok: true, value: total };
}
