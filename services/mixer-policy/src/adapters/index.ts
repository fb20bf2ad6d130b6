// The adapter registry: every adapter mixer-policy runs, by name. Others (prometheus, stdio ...) belong
// to mixer-telemetry and are ignored here.
import { denierAdapter } from './denier.js';
import { kvQuotaAdapter } from './kvquota.js';
import { listAdapter } from './list.js';
import { memquotaAdapter } from './memquota.js';
import { rbacAdapter } from './rbac.js';
import type { Adapter } from './types.js';

export const ADAPTERS: ReadonlyMap<string, Adapter> = new Map(
  [denierAdapter, listAdapter, memquotaAdapter, kvQuotaAdapter, rbacAdapter].map((a) => [a.name, a]),
);

/** Templates of the CHECK variety and the QUOTA one (spec section 4.7). */
export const CHECK_TEMPLATES: ReadonlySet<string> = new Set(['checknothing', 'listentry', 'authorization']);
export const QUOTA_TEMPLATES: ReadonlySet<string> = new Set(['quota']);
