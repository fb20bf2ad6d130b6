import type { FieldError, SpecValidator } from './common.js';
import {
  arr,
  checkShape,
  type FieldType,
  field,
  isObj,
  join,
  must,
  normalizeShape,
  obj,
  type Shape,
  str,
} from './shape.js';

const ACCESS_RULE: FieldType = {
  obj: {
    services: 'stringList',
    hosts: 'stringList',
    notHosts: 'stringList',
    paths: 'stringList',
    notPaths: 'stringList',
    methods: 'stringList',
    notMethods: 'stringList',
    ports: { list: 'int' },
    notPorts: { list: 'int' },
    constraints: { list: { obj: { key: 'string', values: 'stringList' } } },
  },
};

const SUBJECT_FIELDS = [
  'user',
  'group',
  'properties',
  'names',
  'notNames',
  'groups',
  'notGroups',
  'namespaces',
  'notNamespaces',
  'ips',
  'notIps',
];

const SERVICE_ROLE_BINDING: Shape = {
  subjects: {
    list: {
      obj: {
        user: 'string',
        group: 'string',
        properties: 'stringMap',
        names: 'stringList',
        notNames: 'stringList',
        groups: 'stringList',
        notGroups: 'stringList',
        namespaces: 'stringList',
        notNamespaces: 'stringList',
        ips: 'stringList',
        notIps: 'stringList',
      },
    },
  },
  roleRef: { obj: { kind: 'string', name: 'string' } },
  actions: { list: ACCESS_RULE },
  role: 'string',
  mode: { enum: ['ENFORCED', 'PERMISSIVE'] },
};

const RBAC_TARGET: FieldType = { obj: { services: 'stringList', namespaces: 'stringList' } };
const RBAC_CONFIG: Shape = {
  mode: { enum: ['OFF', 'ON', 'ON_WITH_INCLUSION', 'ON_WITH_EXCLUSION'] },
  inclusion: RBAC_TARGET,
  exclusion: RBAC_TARGET,
  enforcementMode: { enum: ['ENFORCED', 'PERMISSIVE'] },
};

function nonEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isObj(v)) return Object.keys(v).length > 0;
  return typeof v === 'string' ? v !== '' : v !== undefined && v !== null;
}

/** Reports `x` and `notX` both set on one object. */
function checkNotPairs(o: Record<string, unknown>, names: string[], path: string, errs: FieldError[]): void {
  for (const n of names) {
    const not = `not${n[0]!.toUpperCase()}${n.slice(1)}`;
    if (nonEmpty(field(o, n)) && nonEmpty(field(o, not))) {
      errs.push({
        field: path,
        message: `cannot have both regular and *not* attributes for the same kind (${n})`,
      });
    }
  }
}

function validateAccessRule(rule: Record<string, unknown>, path: string, errs: FieldError[]): void {
  must(arr(rule.services).length > 0, join(path, 'services'), 'at least 1 service must be specified', errs);
  checkNotPairs(rule, ['hosts', 'paths', 'methods', 'ports'], path, errs);
  arr(rule.constraints).forEach((c, i) => {
    const p = join(join(path, 'constraints'), i);
    must(str(obj(c).key) !== '', join(p, 'key'), 'key cannot be empty', errs);
    must(arr(obj(c).values).length > 0, join(p, 'values'), 'at least 1 value must be specified', errs);
  });
}

/** rbac.istio.io/v1alpha1 ServiceRole. */
export const validateServiceRole: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, { rules: { list: ACCESS_RULE } }, '', errs);
  const rules = arr(spec.rules);
  must(rules.length > 0, 'rules', 'at least 1 rule must be specified', errs);
  for (const [i, r] of rules.entries()) validateAccessRule(obj(r), join('rules', i), errs);
  return errs;
};

/** rbac.istio.io/v1alpha1 ServiceRoleBinding. */
export const validateServiceRoleBinding: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, SERVICE_ROLE_BINDING, '', errs);
  const subjects = arr(spec.subjects);
  must(subjects.length > 0, 'subjects', 'at least 1 subject must be specified', errs);
  subjects.forEach((s, i) => {
    const subject = obj(s);
    const path = join('subjects', i);
    must(
      SUBJECT_FIELDS.some((f) => nonEmpty(field(subject, f))),
      path,
      'empty subjects are not allowed',
      errs,
    );
    checkNotPairs(subject, ['names', 'groups', 'namespaces', 'ips'], path, errs);
  });
  const roleRef = field(spec, 'roleRef');
  const role = str(spec.role);
  const actions = arr(spec.actions);
  const given = [isObj(roleRef), role !== '', actions.length > 0].filter(Boolean).length;
  must(given === 1, '', 'exactly one of roleRef, role or actions must be specified', errs);
  if (isObj(roleRef)) {
    const kind = str(roleRef.kind);
    must(
      kind === 'ServiceRole',
      'roleRef.kind',
      `kind set to "${kind}", currently the only supported value is "ServiceRole"`,
      errs,
    );
    must(str(roleRef.name) !== '', 'roleRef.name', 'name cannot be empty', errs);
  }
  if (role !== '')
    must(role.replace(/^\//, '') !== '', 'role', 'role cannot have an empty ServiceRole name', errs);
  for (const [i, a] of actions.entries()) validateAccessRule(obj(a), join('actions', i), errs);
  return errs;
};

function validateRbacConfigBody(spec: Record<string, unknown>, kind: string, name: string): FieldError[] {
  const errs: FieldError[] = [];
  checkShape(spec, RBAC_CONFIG, '', errs);
  must(name === 'default', '', `${kind} has invalid name(${name}), name must be "default"`, errs);
  const mode = spec.mode;
  if (mode === 'ON_WITH_INCLUSION' || mode === 2) {
    must(
      isObj(spec.inclusion),
      'inclusion',
      "inclusion cannot be null (use 'exclusion' if you want to exclude some services)",
      errs,
    );
  }
  if (mode === 'ON_WITH_EXCLUSION' || mode === 3) {
    must(
      isObj(spec.exclusion),
      'exclusion',
      "exclusion cannot be null (use 'inclusion' if you want to include some services)",
      errs,
    );
  }
  return errs;
}

/** rbac.istio.io/v1alpha1 RbacConfig (deprecated; name must be `default`). */
export const validateRbacConfig: SpecValidator = (spec, meta) =>
  validateRbacConfigBody(spec, 'RbacConfig', meta.name);

/** rbac.istio.io/v1alpha1 ClusterRbacConfig (cluster-scoped; name must be `default`). */
export const validateClusterRbacConfig: SpecValidator = (spec, meta) =>
  validateRbacConfigBody(spec, 'ClusterRbacConfig', meta.name);

type Spec = Record<string, unknown>;
/** Normalized rbac.istio.io specs (camelCase names, enum names, no nulls). */
export const normalizeServiceRole = (spec: Spec): Spec =>
  normalizeShape(spec, { rules: { list: ACCESS_RULE } });
export const normalizeServiceRoleBinding = (spec: Spec): Spec => normalizeShape(spec, SERVICE_ROLE_BINDING);
export const normalizeRbacConfig = (spec: Spec): Spec => normalizeShape(spec, RBAC_CONFIG);
