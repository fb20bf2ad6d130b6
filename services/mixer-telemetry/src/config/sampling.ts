// Rule sampling (istio.policy.v1beta1.Sampling): random (percentSampled, optionally from an
// attribute expression) and rate limit (maxUnsampledEntries per samplingDuration, then 1 in
// samplingRate). A rule without sampling takes every entry.
import type { Bag } from '../bag.js';
import { parseDurationMs } from '../duration.js';
import type { ExpressionCompiler } from './expression.js';
import { type Obj, pick, pickObj, pickString } from './params.js';

export type Sampler = (bag: Bag, now: number) => boolean;

type Built = { ok: true; value: Sampler | undefined } | { ok: false; errors: string };

/** Builds the sampler of a rule's `sampling`; `random` is injectable for tests. */
export function buildSampler(
  sampling: Obj | undefined,
  compiler: ExpressionCompiler,
  random = Math.random,
): Built {
  if (!sampling) return { ok: true, value: undefined };
  const stages: Sampler[] = [];
  const rnd = pickObj(sampling, 'random');
  if (rnd) {
    const pct = pickObj(rnd, 'percentSampled') ?? {};
    const denomName = String(pick(pct, 'denominator') ?? 'HUNDRED');
    const denominator = denomName === 'TEN_THOUSAND' || denomName === '1' ? 10_000 : 100;
    const numerator = Number(pick(pct, 'numerator') ?? 0);
    const exprText = pickString(rnd, 'attributeExpression');
    if (exprText) {
      const c = compiler.compile(exprText);
      if (!c.ok) return { ok: false, errors: `sampling.random.attributeExpression: ${c.errors}` };
      const expr = c.value;
      // The attribute gives the numerator; absent or non-numeric means 0 (nothing sampled), as in Istio.
      stages.push((bag) => {
        const v = expr.evaluate(bag);
        const n =
          typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
        return Number.isFinite(n) && random() * denominator < n;
      });
    } else stages.push(() => random() * denominator < numerator);
  }
  const rl = pickObj(sampling, 'rateLimit');
  if (rl) {
    const windowMs = parseDurationMs(pick(rl, 'samplingDuration'));
    const maxUnsampled = Number(pick(rl, 'maxUnsampledEntries') ?? 0);
    const rate = Number(pick(rl, 'samplingRate') ?? 0);
    if (windowMs === undefined || windowMs <= 0)
      return { ok: false, errors: 'sampling.rateLimit.samplingDuration must be a positive duration' };
    let start = Number.NEGATIVE_INFINITY;
    let count = 0;
    stages.push((_bag, now) => {
      if (now - start >= windowMs) {
        start = now;
        count = 0;
      }
      count++;
      if (count <= maxUnsampled) return true;
      return rate > 0 && (count - maxUnsampled) % rate === 0;
    });
  }
  if (stages.length === 0) return { ok: true, value: undefined };
  return { ok: true, value: (bag, now) => stages.every((s) => s(bag, now)) };
}
