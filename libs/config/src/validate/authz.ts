import { isIP } from 'node:net';
import type { FieldError, SpecValidator } from './common.js';
import {
  arr,
  checkShape,
  isObj,
  join,
  must,
  normalizeShape,
  obj,
  type Shape,
  str,
  WORKLOAD_SELECTOR,
} from './shape.js';

const AUTHORIZATION_POLICY: Shape = {
  selector: WORKLOAD_SELECTOR,
  rules: {
    list: {
      obj: {
        from: {
          list: {
            obj: {
              source: {
                obj: {
                  principals: 'stringList',
                  requestPrincipals: 'stringList',
                  namespaces: 'stringList',
                  ipBlocks: 'stringList',
                },
              },
            },
          },
        },
        to: {
          list: {
            obj: {
              operation: {
                obj: { hosts: 'stringList', ports: 'stringList', methods: 'stringList', paths: 'stringList' },
              },
            },
          },
        },
        when: { list: { obj: { key: 'string', values: 'stringList' } } },
      },
    },
  },
};

const EXACT_KEYS = new Set([
  'source.ip',
  'source.namespace',
  'source.principal',
  'request.auth.principal',
  'request.auth.audiences',
  'request.auth.presenter',
  'destination.ip',
  'destination.port',
  'connection.sni',
]);
const MAP_KEYS = ['request.headers', 'request.auth.claims'];

function isCidrOrIp(v: string): boolean {
  const [ip, bits, ...rest] = v.split('/');
  if (rest.length > 0 || ip === undefined || isIP(ip) === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (isIP(ip) === 4 ? 32 : 128);
}

/** Checks a `when` condition key against the 1.4 v1beta1 attribute vocabulary, and its values. */
function validateCondition(key: string, values: unknown[], path: string, errs: FieldError[]): void {
  const isMap = MAP_KEYS.some(
    (k) => key.startsWith(`${k}[`) && key.endsWith(']') && key.length > k.length + 2,
  );
  const known = EXACT_KEYS.has(key) || isMap || key.startsWith('experimental.envoy.filters.');
  if (key === '') return void errs.push({ field: join(path, 'key'), message: 'key must not be empty' });
  if (!known) return void errs.push({ field: join(path, 'key'), message: `unknown attribute (${key})` });
  for (const v of values) {
    const s = str(v);
    if (key === 'source.ip' || key === 'destination.ip') {
      must(
        isCidrOrIp(s),
        join(path, 'values'),
        `invalid IP address or CIDR range ${JSON.stringify(s)}`,
        errs,
      );
    }
    if (key === 'destination.port') {
      const n = Number(s);
      must(
        /^\d+$/.test(s) && n >= 0 && n <= 65535,
        join(path, 'values'),
        `invalid port ${JSON.stringify(s)}`,
        errs,
      );
    }
  }
}

/** security.istio.io/v1beta1 AuthorizationPolicy (Istio 1.4 fields). */
export const validateAuthorizationPolicy: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, AUTHORIZATION_POLICY, '', errs);
  arr(spec.rules).forEach((r, i) => {
    const rule = obj(r);
    const path = join('rules', i);
    if (Array.isArray(rule.from)) {
      must(rule.from.length > 0, join(path, 'from'), '`from` must not be empty', errs);
      for (const [j, f] of rule.from.entries()) {
        must(isObj(obj(f).source), join(join(path, 'from'), j), '`from.source` must not be nil', errs);
      }
    }
    if (Array.isArray(rule.to)) {
      must(rule.to.length > 0, join(path, 'to'), '`to` must not be empty', errs);
      for (const [j, t] of rule.to.entries()) {
        must(isObj(obj(t).operation), join(join(path, 'to'), j), '`to.operation` must not be nil', errs);
      }
    }
    arr(rule.when).forEach((w, j) => {
      const cond = obj(w);
      const p = join(join(path, 'when'), j);
      const values = arr(cond.values);
      must(values.length > 0, join(p, 'values'), '`values` must not be empty', errs);
      validateCondition(str(cond.key), values, p, errs);
    });
  });
  return errs;
};

/** The normalized AuthorizationPolicy spec (camelCase names, no nulls). */
export const normalizeAuthorizationPolicy = (spec: Record<string, unknown>): Record<string, unknown> =>
  normalizeShape(spec, AUTHORIZATION_POLICY);
