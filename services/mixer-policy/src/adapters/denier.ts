// denier: always answers with the configured status (checknothing, listentry, quota).

import { durationParam, intParam, param } from './params.js';
import { type Adapter, Code } from './types.js';

/** A google.rpc.Code from a number or its name; undefined when unknown. */
export function codeOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 16) return v;
  if (typeof v === 'string' && v in Code) return Code[v as keyof typeof Code];
  return undefined;
}

export const denierAdapter: Adapter = {
  name: 'denier',
  templates: ['checknothing', 'listentry', 'quota'],
  build(params) {
    const errors: string[] = [];
    const status = (param(params, 'status') ?? {}) as { code?: unknown; message?: unknown };
    const code = status.code === undefined ? Code.FAILED_PRECONDITION : codeOf(status.code);
    if (code === undefined) errors.push(`status.code: unknown code ${JSON.stringify(status.code)}`);
    const message = typeof status.message === 'string' ? status.message : '';
    const validDurationMs = durationParam(params, 'validDuration', 5000, errors);
    const validUseCount = intParam(params, 'validUseCount', 1000, errors);
    if (errors.length > 0) return { ok: false, errors };
    return {
      ok: true,
      value: {
        check: () => ({ code: code!, message, validDurationMs, validUseCount }),
        quota: () => ({ granted: 0, validDurationMs, code: code!, message }),
      },
    };
  },
};
