// QuotaSpec and QuotaSpecBinding: which quotas a request to a service is charged, and how much.
// (In Istio 1.4 Pilot put these into the Envoy mixer filter; Keel's ext_authz carries no quotas,
// so mixer-policy resolves them from the destination service.)
import { type Bag, formatIp, type ReferencedAttributes } from '@keel/attributes';
import type { PolicyResource } from './resources.js';

type Clause = Record<string, { exact?: string; prefix?: string; regex?: RegExp }>;
interface SpecRule {
  match: Clause[];
  quotas: { quota: string; charge: number }[];
}

export interface QuotaRequest {
  name: string;
  amount: number;
}

export interface QuotaSpecIndex {
  /** The quotas a request is charged (none when no binding names its destination service). */
  quotasFor(bag: Bag, refs?: ReferencedAttributes): QuotaRequest[];
  size(): number;
}

function compileSpec(r: PolicyResource, errors: string[]): SpecRule[] {
  const rules = Array.isArray(r.spec.rules) ? (r.spec.rules as Record<string, unknown>[]) : [];
  return rules.map((rule, i) => {
    const match = (Array.isArray(rule?.match) ? rule.match : []).map((m: unknown, j: number) => {
      const clause = ((m as { clause?: unknown })?.clause ?? {}) as Record<string, Record<string, unknown>>;
      const out: Clause = {};
      for (const [attr, sm] of Object.entries(clause)) {
        if (typeof sm?.regex === 'string') {
          try {
            out[attr] = { regex: new RegExp(sm.regex, 'u') };
          } catch (e) {
            errors.push(`rules[${i}].match[${j}].clause.${attr}.regex: ${(e as Error).message}`);
          }
        } else
          out[attr] = { exact: sm?.exact as string | undefined, prefix: sm?.prefix as string | undefined };
      }
      return out;
    });
    const quotas = (Array.isArray(rule?.quotas) ? rule.quotas : []).map((q: Record<string, unknown>) => ({
      quota: String(q?.quota ?? ''),
      charge: Number(q?.charge ?? 1) || 1,
    }));
    return { match, quotas };
  });
}

function text(bag: Bag, name: string, refs?: ReferencedAttributes): string | undefined {
  const v = bag.get(name);
  refs?.attr(name, v !== undefined);
  if (v === undefined || v instanceof Map) return undefined;
  return v instanceof Uint8Array ? formatIp(v) : String(v);
}

function clauseMatches(c: Clause, bag: Bag, refs?: ReferencedAttributes): boolean {
  for (const [attr, m] of Object.entries(c)) {
    const v = text(bag, attr, refs);
    if (v === undefined) return false;
    if (m.exact !== undefined && v !== m.exact) return false;
    if (m.prefix !== undefined && !v.startsWith(m.prefix)) return false;
    if (m.regex && !m.regex.test(v)) return false;
  }
  return true;
}

export function compileQuotaSpecs(
  specs: readonly PolicyResource[],
  bindings: readonly PolicyResource[],
  onError: (r: PolicyResource, errors: string[]) => void = () => {},
): QuotaSpecIndex {
  const byKey = new Map<string, SpecRule[]>();
  for (const s of specs) {
    const errors: string[] = [];
    const rules = compileSpec(s, errors);
    if (errors.length > 0) onError(s, errors);
    else byKey.set(`${s.namespace}/${s.name}`, rules);
  }
  const byService = new Map<string, SpecRule[]>();
  const wildcard: SpecRule[] = [];
  for (const b of bindings) {
    const refs = Array.isArray(b.spec.quotaSpecs) ? (b.spec.quotaSpecs as Record<string, unknown>[]) : [];
    const rules = refs.flatMap(
      (q) => byKey.get(`${String(q?.namespace ?? b.namespace)}/${String(q?.name ?? '')}`) ?? [],
    );
    const services = Array.isArray(b.spec.services) ? (b.spec.services as Record<string, unknown>[]) : [];
    for (const svc of services) {
      if (svc?.service === '*' || svc?.name === '*') {
        wildcard.push(...rules);
        continue;
      }
      // A service without a namespace matches that name in any namespace (the samples bind
      // `ratings` from istio-system while ratings runs in default).
      const key = `${svc?.namespace ? String(svc.namespace) : '*'}/${String(svc?.name ?? '')}`;
      byService.set(key, [...(byService.get(key) ?? []), ...rules]);
    }
  }
  return {
    quotasFor(bag, refs) {
      const name = text(bag, 'destination.service.name', refs);
      const ns = text(bag, 'destination.service.namespace', refs);
      const rules = name
        ? [...(byService.get(`${ns}/${name}`) ?? []), ...(byService.get(`*/${name}`) ?? []), ...wildcard]
        : wildcard;
      const out = new Map<string, number>();
      for (const rule of rules) {
        if (rule.match.length > 0 && !rule.match.some((c) => clauseMatches(c, bag, refs))) continue;
        for (const q of rule.quotas) if (q.quota) out.set(q.quota, (out.get(q.quota) ?? 0) + q.charge);
      }
      return [...out].map(([n, amount]) => ({ name: n, amount }));
    },
    size: () => byService.size + wildcard.length,
  };
}
