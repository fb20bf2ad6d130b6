// The policy engine both Check APIs share: decision cache, CHECK dispatch, then QUOTA.
import { type Bag, ReferencedAttributes } from '@keel/attributes';
import { Code } from '../adapters/types.js';
import { emptyConfig, type PolicyConfig } from '../config/compile.js';
import { DecisionCache } from './cache.js';
import {
  type Decision,
  type DispatchObserver,
  dispatchCheck,
  dispatchQuota,
  type QuotaOutcome,
} from './dispatch.js';
import { codeName, httpStatusFromCode } from './status.js';

export interface QuotaAsk {
  name: string;
  amount: number;
  bestEffort: boolean;
}

/** The answer to one Check. */
export interface Verdict {
  code: number;
  /** `<handler>:<message>[, ...]`, empty when OK. */
  message: string;
  httpStatus: number;
  decision: Decision;
  quotas: QuotaOutcome[];
  cacheHit: boolean;
  /** What the precondition read (undefined on a cache hit). */
  referenced?: ReferencedAttributes;
}

export interface EngineOptions {
  now?: () => number;
  /** Mesh policyCheckFailOpen: internal failures allow instead of deny. */
  failOpen?: () => boolean;
  observer?: DispatchObserver;
  cacheEntries?: number;
}

/** The body Envoy shows for a denial: `PERMISSION_DENIED:<handler>.<kind>.<ns>:<message>`. */
export function deniedBody(v: Pick<Verdict, 'code' | 'message'>): string {
  return `${codeName(v.code)}:${v.message}`;
}

export class PolicyEngine {
  private config: PolicyConfig = emptyConfig();
  readonly cache: DecisionCache<Decision>;
  private readonly now: () => number;
  private readonly failOpen: () => boolean;

  constructor(private readonly opts: EngineOptions = {}) {
    this.cache = new DecisionCache<Decision>(opts.cacheEntries ?? 100_000);
    this.now = opts.now ?? Date.now;
    this.failOpen = opts.failOpen ?? (() => false);
  }

  setConfig(config: PolicyConfig): void {
    this.config = config;
    this.cache.clear();
  }

  current(): PolicyConfig {
    return this.config;
  }

  /**
   * Checks a bag. Quotas are the explicit ones (Mixer v1) or, when undefined, those QuotaSpecBindings
   * charge the destination service. A cached non-OK answer is returned without charging quota.
   */
  async check(bag: Bag, quotas?: readonly QuotaAsk[], dedupId = ''): Promise<Verdict> {
    const config = this.config;
    const now = this.now();
    let decision = this.cache.get(bag, now);
    const cacheHit = decision !== undefined;
    let referenced: ReferencedAttributes | undefined;
    if (!decision) {
      referenced = new ReferencedAttributes();
      decision = await dispatchCheck(config, bag, referenced, this.opts.observer);
      if (decision.code === Code.INTERNAL && this.failOpen()) decision = { ...decision, code: Code.OK };
      this.cache.set(bag, referenced, decision, decision.validDurationMs, decision.validUseCount, now);
    }
    const verdict: Verdict = {
      code: decision.code,
      message: decision.message,
      httpStatus: httpStatusFromCode(decision.code),
      decision,
      quotas: [],
      cacheHit,
      referenced,
    };
    if (decision.code !== Code.OK) return verdict;
    const asks = quotas ?? config.quotaSpecs.quotasFor(bag).map((q) => ({ ...q, bestEffort: false }));
    for (const q of asks) {
      const out = await dispatchQuota(config, bag, q, dedupId, this.opts.observer);
      verdict.quotas.push(out);
      if (out.code === Code.INTERNAL && this.failOpen()) continue;
      if (out.code !== Code.OK) {
        this.deny(verdict, out.code, `${out.handler ?? 'quota'}:${out.message}`);
        break;
      }
      if (q.amount > 0 && out.granted < q.amount) {
        this.deny(verdict, Code.RESOURCE_EXHAUSTED, `${out.handler}:Quota is exhausted for: ${q.name}`);
        break;
      }
    }
    return verdict;
  }

  private deny(v: Verdict, code: number, message: string): void {
    v.code = code;
    v.message = message;
    v.httpStatus = httpStatusFromCode(code);
  }
}
