// listchecker: whitelists and blacklists of strings, case-insensitive strings, IP ranges or regexes,
// from overrides and an optional provider URL refreshed in the background (last good list kept).
import { type AttributeValue, cidrContains, formatIp, parseCidr, parseIp } from '@keel/attributes';
import { durationParam, intParam, param, stringList } from './params.js';
import {
  type Adapter,
  type AdapterEnv,
  type CheckInstance,
  type CheckResult,
  Code,
  type Handler,
} from './types.js';

export type EntryType = 'STRINGS' | 'CASE_INSENSITIVE_STRINGS' | 'IP_ADDRESSES' | 'REGEX';
const ENTRY_TYPES: readonly EntryType[] = ['STRINGS', 'CASE_INSENSITIVE_STRINGS', 'IP_ADDRESSES', 'REGEX'];
/** Largest provider list accepted. */
export const MAX_LIST_BYTES = 4 * 1024 * 1024;

/** A compiled list: a membership test over one entry type. */
export interface CompiledList {
  size: number;
  has(value: string | Uint8Array): boolean;
}

/** Compiles entries of a type; bad entries are errors naming them. */
export function compileList(
  type: EntryType,
  entries: readonly string[],
): { list: CompiledList; errors: string[] } {
  const errors: string[] = [];
  switch (type) {
    case 'STRINGS': {
      const set = new Set(entries);
      return { list: { size: set.size, has: (v) => typeof v === 'string' && set.has(v) }, errors };
    }
    case 'CASE_INSENSITIVE_STRINGS': {
      const set = new Set(entries.map((e) => e.toLowerCase()));
      return {
        list: { size: set.size, has: (v) => typeof v === 'string' && set.has(v.toLowerCase()) },
        errors,
      };
    }
    case 'IP_ADDRESSES': {
      const cidrs = entries.flatMap((e) => {
        const c = parseCidr(e.trim());
        if (!c) errors.push(`${JSON.stringify(e)} is not an IP address or CIDR range`);
        return c ? [c] : [];
      });
      return {
        list: {
          size: cidrs.length,
          has: (v) => {
            const ip = typeof v === 'string' ? parseIp(v) : v;
            return ip !== undefined && cidrs.some((c) => cidrContains(c, ip));
          },
        },
        errors,
      };
    }
    case 'REGEX': {
      const res = entries.flatMap((e) => {
        try {
          if (e.length > 4096) throw new Error('longer than 4096 characters');
          return [new RegExp(e, 'u')];
        } catch (err) {
          errors.push(`${JSON.stringify(e)} is not a valid regular expression: ${(err as Error).message}`);
          return [];
        }
      });
      return {
        list: { size: res.length, has: (v) => typeof v === 'string' && res.some((r) => r.test(v)) },
        errors,
      };
    }
  }
}

/** Provider list text: one entry per line; blank lines and `#` comments ignored. */
export function parseProviderList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l.length > 0);
}

function display(v: AttributeValue): string {
  return v instanceof Uint8Array ? formatIp(v) : String(v);
}

export const listAdapter: Adapter = {
  name: 'listchecker',
  templates: ['listentry'],
  build(params, env) {
    const errors: string[] = [];
    const typeRaw = param(params, 'entryType') ?? 'STRINGS';
    const type = ENTRY_TYPES.includes(typeRaw as EntryType) ? (typeRaw as EntryType) : undefined;
    if (!type)
      errors.push(`entryType: must be one of ${ENTRY_TYPES.join(', ')}, got ${JSON.stringify(typeRaw)}`);
    const overrides = stringList(params, 'overrides', errors);
    const blacklist = param(params, 'blacklist') === true;
    const providerUrl = param(params, 'providerUrl');
    if (providerUrl !== undefined && (typeof providerUrl !== 'string' || !/^https?:\/\//.test(providerUrl)))
      errors.push(`providerUrl: must be an http(s) URL, got ${JSON.stringify(providerUrl)}`);
    const refreshMs = durationParam(params, 'refreshInterval', 60_000, errors);
    if (providerUrl && refreshMs < 1000) errors.push('refreshInterval: must be at least 1s');
    const cachingMs = durationParam(params, 'cachingInterval', 300_000, errors);
    const cachingUses = intParam(params, 'cachingUseCount', 10_000, errors);
    const base = type ? compileList(type, overrides) : undefined;
    if (base) errors.push(...base.errors.map((e) => `overrides: ${e}`));
    if (errors.length > 0 || !type || !base) return { ok: false, errors };
    return {
      ok: true,
      value: new ListHandler(
        type,
        base.list,
        blacklist,
        cachingMs,
        cachingUses,
        env,
        providerUrl as string | undefined,
        refreshMs,
      ),
    };
  },
};

class ListHandler implements Handler {
  private provided?: CompiledList;
  private lastFetch?: { at: number; ok: boolean; error?: string; entries?: number };
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly type: EntryType,
    private readonly overrides: CompiledList,
    private readonly blacklist: boolean,
    private readonly cachingMs: number,
    private readonly cachingUses: number,
    private readonly env: AdapterEnv,
    private readonly providerUrl: string | undefined,
    private readonly refreshMs: number,
  ) {
    if (providerUrl) void this.refresh();
  }

  /** Fetches the provider list once; on any failure the last good list stays. */
  async refresh(): Promise<void> {
    if (!this.providerUrl || this.closed) return;
    try {
      const res = await fetch(this.providerUrl, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const text = await res.text();
      if (text.length > MAX_LIST_BYTES) throw new Error(`list larger than ${MAX_LIST_BYTES} bytes`);
      const { list, errors } = compileList(this.type, parseProviderList(text));
      if (errors.length > 0) throw new Error(errors.slice(0, 3).join('; '));
      this.provided = list;
      this.lastFetch = { at: this.env.now(), ok: true, entries: list.size };
    } catch (e) {
      const error = (e as Error).message;
      this.lastFetch = { at: this.env.now(), ok: false, error };
      this.env.logger.warn(
        { handler: this.env.handlerName, url: this.providerUrl, error },
        'list refresh failed; keeping the last good list',
      );
    }
    if (!this.closed) {
      this.timer = setTimeout(() => void this.refresh(), this.refreshMs);
      this.timer.unref();
    }
  }

  check(instances: CheckInstance[]): CheckResult {
    for (const inst of instances) {
      if (inst.template !== 'listentry') continue;
      const r = this.checkOne(inst.value);
      if (r.code !== Code.OK) return r;
    }
    return { code: Code.OK, message: '', validDurationMs: this.cachingMs, validUseCount: this.cachingUses };
  }

  private checkOne(value: AttributeValue): CheckResult {
    const done = (code: number, message: string): CheckResult => ({
      code,
      message,
      validDurationMs: this.cachingMs,
      validUseCount: this.cachingUses,
    });
    let v: string | Uint8Array;
    if (this.type === 'IP_ADDRESSES') {
      const ip = value instanceof Uint8Array ? value : typeof value === 'string' ? parseIp(value) : undefined;
      if (!ip) return done(Code.INVALID_ARGUMENT, `${display(value)} is not a valid IP address`);
      v = ip;
    } else if (typeof value === 'string') v = value;
    else v = display(value);
    const found = this.overrides.has(v) || (this.provided?.has(v) ?? false);
    if (this.blacklist && found) return done(Code.PERMISSION_DENIED, `${display(value)} is blacklisted`);
    if (!this.blacklist && !found)
      return done(Code.PERMISSION_DENIED, `${display(value)} is not whitelisted`);
    return done(Code.OK, '');
  }

  debug(): unknown {
    return {
      entryType: this.type,
      blacklist: this.blacklist,
      overrides: this.overrides.size,
      providerUrl: this.providerUrl,
      providedEntries: this.provided?.size,
      lastFetch: this.lastFetch,
    };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
