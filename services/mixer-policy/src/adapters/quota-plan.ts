// Quota params shared by memquota and redisquota: limits per quota instance with first-match overrides.
import { type AttributeValue, formatIp } from '@keel/attributes';
import { durationParam, intParam, param } from './params.js';

export type Algorithm = 'FIXED_WINDOW' | 'ROLLING_WINDOW';

export interface Limit {
  maxAmount: number;
  /** 0 means a counter that never expires. */
  windowMs: number;
  bucketMs: number;
  algorithm: Algorithm;
}

interface QuotaDef extends Limit {
  name: string;
  overrides: { dimensions: Record<string, string>; limit: Limit }[];
}

export interface QuotaPlan {
  quotas: Map<string, QuotaDef>;
}

/** Parses `quotas[]` (name, maxAmount, validDuration, bucketDuration, rateLimitAlgorithm, overrides[]). */
export function parseQuotaPlan(
  params: Record<string, unknown>,
  errors: string[],
  opts: { algorithms: boolean },
): QuotaPlan {
  const quotas = new Map<string, QuotaDef>();
  const list = param(params, 'quotas');
  if (!Array.isArray(list)) {
    errors.push('quotas: must be a list');
    return { quotas };
  }
  list.forEach((raw, i) => {
    const q = (raw ?? {}) as Record<string, unknown>;
    const at = `quotas[${i}]`;
    const e: string[] = [];
    const name = typeof q.name === 'string' ? q.name : '';
    if (!name) e.push('name: required');
    const limit = parseLimit(q, e, opts, undefined);
    const overrides = (Array.isArray(q.overrides) ? q.overrides : []).map((o: unknown, j: number) => {
      const ov = (o ?? {}) as Record<string, unknown>;
      const dims = (ov.dimensions ?? {}) as Record<string, unknown>;
      const dimensions = Object.fromEntries(Object.entries(dims).map(([k, v]) => [k, String(v)]));
      const oe: string[] = [];
      const l = parseLimit(ov, oe, opts, limit);
      e.push(...oe.map((x) => `overrides[${j}].${x}`));
      return { dimensions, limit: l };
    });
    errors.push(...e.map((x) => `${at}.${x}`));
    if (e.length === 0) quotas.set(name, { name, ...limit, overrides });
  });
  return { quotas };
}

function parseLimit(
  q: Record<string, unknown>,
  errors: string[],
  opts: { algorithms: boolean },
  parent: Limit | undefined,
): Limit {
  const maxAmount = intParam(q, 'maxAmount', parent?.maxAmount ?? 0, errors);
  if (maxAmount < 0) errors.push('maxAmount: must not be negative');
  const windowMs = durationParam(q, 'validDuration', parent?.windowMs ?? 0, errors);
  const bucketMs = durationParam(q, 'bucketDuration', parent?.bucketMs ?? 0, errors);
  const algo = param(q, 'rateLimitAlgorithm') ?? parent?.algorithm ?? 'FIXED_WINDOW';
  if (algo !== 'FIXED_WINDOW' && algo !== 'ROLLING_WINDOW')
    errors.push(`rateLimitAlgorithm: must be FIXED_WINDOW or ROLLING_WINDOW, got ${JSON.stringify(algo)}`);
  if (opts.algorithms && windowMs <= 0) errors.push('validDuration: must be positive');
  if (opts.algorithms && algo === 'ROLLING_WINDOW' && (bucketMs <= 0 || bucketMs > windowMs))
    errors.push('bucketDuration: must be positive and at most validDuration for ROLLING_WINDOW');
  return { maxAmount, windowMs, bucketMs, algorithm: algo as Algorithm };
}

function dimText(v: AttributeValue | undefined): string {
  if (v === undefined) return '';
  return v instanceof Uint8Array ? formatIp(v) : v instanceof Map ? JSON.stringify([...v]) : String(v);
}

/** The limit for an instance: the first override whose dimensions all match, else the quota's own. */
export function limitFor(
  plan: QuotaPlan,
  instance: string,
  dims: Record<string, AttributeValue>,
): { limit: Limit; key: string } | undefined {
  const q = plan.quotas.get(instance);
  if (!q) return undefined;
  const key = `${instance};${Object.keys(dims)
    .sort()
    .map((k) => `${k}=${dimText(dims[k])}`)
    .join(';')}`;
  for (const o of q.overrides) {
    if (Object.entries(o.dimensions).every(([k, v]) => dimText(dims[k]) === v))
      return { limit: o.limit, key };
  }
  return { limit: q, key };
}
