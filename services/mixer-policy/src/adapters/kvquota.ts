// redisquota's algorithms (FIXED_WINDOW, ROLLING_WINDOW) on a NATS JetStream KV bucket with
// compare-and-set, so every mixer-policy replica shares one counter per quota and dimensions.
// Fallback: while NATS is unreachable (or a KV call takes longer than opTimeoutMs) each replica
// counts locally with the same limits (memquota's rolling window), so the mesh keeps answering
// and N replicas may together grant up to N times the limit until NATS returns.
import { createHash } from 'node:crypto';
import type { BusKv } from '@keel/bus';
import { LocalQuotas } from './memquota.js';
import { durationParam, intParam } from './params.js';
import { type Limit, limitFor, parseQuotaPlan, type QuotaPlan } from './quota-plan.js';
import {
  type Adapter,
  type AdapterEnv,
  Code,
  type Handler,
  type QuotaArgs,
  type QuotaInstance,
  type QuotaResult,
} from './types.js';

export const QUOTA_BUCKET = 'keel-quota';
const MAX_CAS_ATTEMPTS = 16;

interface Fixed {
  w: number;
  n: number;
}
interface Rolling {
  b: [number, number][];
}

class Timeout extends Error {}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new Timeout(`KV call took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

export class KvQuotaHandler implements Handler {
  private kv?: BusKv;
  private opening?: Promise<void>;
  private readonly fallback: LocalQuotas;
  private readonly dedup = new Map<string, { result: QuotaResult; until: number }>();
  readonly stats = { shared: 0, fallback: 0, conflicts: 0, lastError: '' };

  constructor(
    private readonly plan: QuotaPlan,
    private readonly env: AdapterEnv,
    private readonly opTimeoutMs: number,
    private readonly dedupMs: number,
  ) {
    this.fallback = new LocalQuotas(plan, env.now, dedupMs);
  }

  /** The shared bucket, or undefined while NATS is unreachable (then the caller falls back). */
  private async store(): Promise<BusKv | undefined> {
    const bus = this.env.bus();
    if (bus?.status() !== 'connected') return undefined;
    if (this.kv) return this.kv;
    this.opening ??= within(bus.kv(QUOTA_BUCKET), 2000)
      .then((kv) => {
        this.kv = kv;
      })
      .catch((e) => {
        this.stats.lastError = String(e);
      })
      .finally(() => {
        this.opening = undefined;
      });
    await within(this.opening, this.opTimeoutMs).catch(() => undefined);
    return this.kv;
  }

  async quota(inst: QuotaInstance, args: QuotaArgs): Promise<QuotaResult> {
    const now = this.env.now();
    const seen = args.dedupId ? this.dedup.get(args.dedupId) : undefined;
    if (seen && seen.until > now) return seen.result;
    const found = limitFor(this.plan, inst.name, inst.dimensions);
    if (!found) return { granted: args.amount, validDurationMs: 60_000, code: Code.OK, message: '' };
    const kv = await this.store();
    let result: QuotaResult;
    if (!kv) {
      this.stats.fallback++;
      result = this.fallback.alloc(inst, args);
    } else {
      try {
        result = await within(this.shared(kv, found.key, found.limit, args), this.opTimeoutMs);
        this.stats.shared++;
      } catch (e) {
        this.stats.fallback++;
        this.stats.lastError = (e as Error).message;
        result = this.fallback.alloc(inst, args);
      }
    }
    if (args.dedupId) {
      if (this.dedup.size > 100_000) this.dedup.clear();
      this.dedup.set(args.dedupId, { result, until: now + this.dedupMs });
    }
    return result;
  }

  private async shared(kv: BusKv, key: string, limit: Limit, args: QuotaArgs): Promise<QuotaResult> {
    const k = `q.${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const now = this.env.now();
      const cur = await kv.get<Fixed & Rolling>(k);
      const step =
        limit.algorithm === 'FIXED_WINDOW'
          ? fixedWindow(cur?.value, limit, args, now)
          : rollingWindow(cur?.value, limit, args, now);
      if (step.granted === 0 && args.amount > 0) return this.result(0, step.validMs);
      const w = cur ? await kv.update(k, step.next, cur.revision) : await kv.create(k, step.next);
      if (w.ok) return this.result(step.granted, step.validMs);
      this.stats.conflicts++;
    }
    throw new Error(`quota ${key}: ${MAX_CAS_ATTEMPTS} compare-and-set conflicts in a row`);
  }

  private result(granted: number, validMs: number): QuotaResult {
    return { granted, validDurationMs: validMs, code: Code.OK, message: '' };
  }

  debug(): unknown {
    return { quotas: [...this.plan.quotas.keys()], connected: this.kv !== undefined, ...this.stats };
  }
}

function grant(available: number, args: QuotaArgs): number {
  if (args.amount <= 0) return args.amount;
  if (available >= args.amount) return args.amount;
  return args.bestEffort && available > 0 ? available : 0;
}

/** FIXED_WINDOW: one counter per window of validDuration, reset when the window changes. */
export function fixedWindow(cur: Fixed | undefined, limit: Limit, args: QuotaArgs, now: number) {
  const w = Math.floor(now / limit.windowMs);
  const used = cur && cur.w === w ? cur.n : 0;
  const granted = grant(limit.maxAmount - used, args);
  const validMs = (w + 1) * limit.windowMs - now;
  return { granted: Math.max(0, granted), validMs, next: { w, n: Math.max(0, used + granted) } as Fixed };
}

/** ROLLING_WINDOW: buckets of bucketDuration; the window sums the buckets younger than validDuration. */
export function rollingWindow(cur: Rolling | undefined, limit: Limit, args: QuotaArgs, now: number) {
  const start = Math.floor(now / limit.bucketMs) * limit.bucketMs;
  const live = (cur?.b ?? []).filter(([s]) => s > now - limit.windowMs);
  const used = live.reduce((a, [, n]) => a + n, 0);
  const granted = grant(limit.maxAmount - used, args);
  const last = live[live.length - 1];
  if (last && last[0] === start) last[1] = Math.max(0, last[1] + granted);
  else live.push([start, Math.max(0, granted)]);
  return { granted: Math.max(0, granted), validMs: limit.bucketMs, next: { b: live } as Rolling };
}

export const kvQuotaAdapter: Adapter = {
  name: 'redisquota',
  templates: ['quota'],
  build(params, env) {
    const errors: string[] = [];
    const plan: QuotaPlan = parseQuotaPlan(params, errors, { algorithms: true });
    const dedupMs = durationParam(params, 'minDeduplicationDuration', 1000, errors);
    const opTimeoutMs = intParam(params, 'kvTimeoutMs', 250, errors);
    if (errors.length > 0) return { ok: false, errors };
    return { ok: true, value: new KvQuotaHandler(plan, env, opTimeoutMs, dedupMs) };
  },
};
