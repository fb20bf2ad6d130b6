// memquota: per-process quotas. A rolling window in 100 ms ticks; validDuration 0 never expires.
import { durationParam } from './params.js';
import { type Limit, limitFor, parseQuotaPlan, type QuotaPlan } from './quota-plan.js';
import {
  type Adapter,
  Code,
  type Handler,
  type QuotaArgs,
  type QuotaInstance,
  type QuotaResult,
} from './types.js';

const TICK_MS = 100;
/** Counters held before the oldest idle ones are dropped. */
const MAX_COUNTERS = 100_000;

/** A rolling-window counter: one slot per 100 ms tick of the window. */
class RollingCounter {
  private readonly slots: Float64Array;
  private headTick = 0;
  total = 0;
  constructor(private readonly ticks: number) {
    this.slots = new Float64Array(Math.max(1, ticks));
  }
  /** Drops ticks that left the window. */
  advance(nowTick: number): void {
    if (this.ticks === 0) return;
    const gap = nowTick - this.headTick;
    if (gap <= 0) return;
    if (gap >= this.ticks) {
      this.slots.fill(0);
      this.total = 0;
    } else {
      for (let t = this.headTick + 1; t <= nowTick; t++) {
        const i = t % this.ticks;
        this.total -= this.slots[i]!;
        this.slots[i] = 0;
      }
    }
    this.headTick = nowTick;
  }
  add(nowTick: number, amount: number): void {
    this.slots[this.ticks === 0 ? 0 : nowTick % this.ticks]! += amount;
    this.total += amount;
    if (this.total < 0) this.total = 0;
  }
}

/** Local quota accounting, used by memquota and as the KV quota's fallback. */
export class LocalQuotas {
  private readonly counters = new Map<string, RollingCounter>();
  private readonly dedup = new Map<string, { result: QuotaResult; until: number }>();

  constructor(
    private readonly plan: QuotaPlan,
    private readonly now: () => number,
    private readonly dedupMs = 1000,
  ) {}

  alloc(instance: QuotaInstance, args: QuotaArgs): QuotaResult {
    const now = this.now();
    if (args.dedupId) {
      const seen = this.dedup.get(args.dedupId);
      if (seen && seen.until > now) return seen.result;
    }
    const found = limitFor(this.plan, instance.name, instance.dimensions);
    const result = found
      ? this.allocate(found.key, found.limit, args, now)
      : { granted: args.amount, validDurationMs: 60_000, code: Code.OK, message: '' };
    if (args.dedupId) {
      if (this.dedup.size >= MAX_COUNTERS) this.sweep(now);
      this.dedup.set(args.dedupId, { result, until: now + this.dedupMs });
    }
    return result;
  }

  private allocate(key: string, limit: Limit, args: QuotaArgs, now: number): QuotaResult {
    const ticks = limit.windowMs > 0 ? Math.ceil(limit.windowMs / TICK_MS) : 0;
    let c = this.counters.get(key);
    if (!c) {
      if (this.counters.size >= MAX_COUNTERS) this.counters.delete(this.counters.keys().next().value!);
      c = new RollingCounter(ticks);
      this.counters.set(key, c);
    }
    const tick = Math.floor(now / TICK_MS);
    c.advance(tick);
    const ok = (granted: number): QuotaResult => ({
      granted,
      validDurationMs: limit.windowMs,
      code: Code.OK,
      message: '',
    });
    if (args.amount <= 0) {
      c.add(tick, args.amount);
      return ok(0);
    }
    const available = limit.maxAmount - c.total;
    if (available >= args.amount) {
      c.add(tick, args.amount);
      return ok(args.amount);
    }
    if (args.bestEffort && available > 0) {
      c.add(tick, available);
      return ok(available);
    }
    return ok(0);
  }

  private sweep(now: number): void {
    for (const [k, v] of this.dedup) if (v.until <= now) this.dedup.delete(k);
    if (this.dedup.size >= MAX_COUNTERS) this.dedup.clear();
  }

  size(): number {
    return this.counters.size;
  }
}

export const memquotaAdapter: Adapter = {
  name: 'memquota',
  templates: ['quota'],
  build(params, env) {
    const errors: string[] = [];
    const plan = parseQuotaPlan(params, errors, { algorithms: false });
    const dedupMs = durationParam(params, 'minDeduplicationDuration', 1000, errors);
    if (dedupMs <= 0) errors.push('minDeduplicationDuration: must be positive');
    if (errors.length > 0) return { ok: false, errors };
    const local = new LocalQuotas(plan, env.now, dedupMs);
    const handler: Handler = {
      quota: (inst, args) => local.alloc(inst, args),
      debug: () => ({ quotas: [...plan.quotas.keys()], counters: local.size() }),
    };
    return { ok: true, value: handler };
  },
};
