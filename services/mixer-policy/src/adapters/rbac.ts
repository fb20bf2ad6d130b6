// rbac (Istio <= 1.2 in Mixer): ServiceRole / ServiceRoleBinding evaluated over the authorization template.
import { type AttributeValue, formatIp, globMatch } from '@keel/attributes';
import { durationParam } from './params.js';
import { type Adapter, type CheckInstance, type CheckResult, Code, type RbacView } from './types.js';

type Authz = Extract<CheckInstance, { template: 'authorization' }>;
const text = (v: AttributeValue | undefined): string =>
  v === undefined ? '' : v instanceof Uint8Array ? formatIp(v) : String(v);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

function ruleMatches(rule: Record<string, unknown>, a: Authz['action']): boolean {
  const services = strs(rule.services);
  if (!services.some((s) => s === '*' || globMatch(a.service, s))) return false;
  const methods = strs(rule.methods);
  if (methods.length > 0 && !methods.some((m) => m === '*' || m === a.method)) return false;
  const paths = strs(rule.paths);
  if (paths.length > 0 && !paths.some((p) => p === '*' || globMatch(a.path, p))) return false;
  for (const c of Array.isArray(rule.constraints) ? rule.constraints : []) {
    const key = String((c as { key?: unknown }).key ?? '');
    const values = strs((c as { values?: unknown }).values);
    const actual = text(a.properties[key]);
    if (!values.some((v) => globMatch(actual, v))) return false;
  }
  return true;
}

function subjectMatches(s: Record<string, unknown>, subj: Authz['subject']): boolean {
  if (s.user !== undefined && s.user !== '*' && s.user !== subj.user) return false;
  if (s.group !== undefined && s.group !== '*' && !subj.groups.split(',').includes(String(s.group)))
    return false;
  const props = (s.properties ?? {}) as Record<string, unknown>;
  return Object.entries(props).every(([k, v]) => globMatch(text(subj.properties[k]), String(v)));
}

/** Whether any binding in the action's namespace grants a role whose rules allow the action. */
export function rbacAllows(view: RbacView, inst: Authz): boolean {
  const ns = inst.action.namespace;
  const roles = new Map(view.roles.filter((r) => r.namespace === ns).map((r) => [r.name, r.spec]));
  for (const b of view.bindings) {
    if (b.namespace !== ns) continue;
    const ref = (b.spec.roleRef ?? {}) as { name?: unknown };
    const roleName = String(ref.name ?? b.spec.role ?? '');
    const role = roles.get(roleName.replace(/^\/+/, ''));
    if (!role) continue;
    const subjects = Array.isArray(b.spec.subjects) ? (b.spec.subjects as Record<string, unknown>[]) : [];
    if (!subjects.some((s) => subjectMatches(s ?? {}, inst.subject))) continue;
    const rules = Array.isArray(role.rules) ? (role.rules as Record<string, unknown>[]) : [];
    if (rules.some((r) => ruleMatches(r ?? {}, inst.action))) return true;
  }
  return false;
}

export const rbacAdapter: Adapter = {
  name: 'rbac',
  templates: ['authorization'],
  build(params, env) {
    const errors: string[] = [];
    const cacheMs = durationParam(params, 'cacheDuration', 60_000, errors);
    if (errors.length > 0) return { ok: false, errors };
    const view = env.rbac ?? (() => ({ roles: [], bindings: [] }));
    return {
      ok: true,
      value: {
        check(instances): CheckResult {
          for (const inst of instances) {
            if (inst.template !== 'authorization') continue;
            if (!rbacAllows(view(), inst))
              return {
                code: Code.PERMISSION_DENIED,
                message: 'RBAC: permission denied.',
                validDurationMs: cacheMs,
                validUseCount: 10_000,
              };
          }
          return { code: Code.OK, message: '', validDurationMs: cacheMs, validUseCount: 10_000 };
        },
      },
    };
  },
};
