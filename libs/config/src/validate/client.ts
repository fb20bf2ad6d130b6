import type { FieldError, SpecValidator } from './common.js';
import {
  arr,
  checkShape,
  type FieldType,
  field,
  isDns1123Label,
  join,
  must,
  obj,
  type Shape,
  STRING_MATCH,
  str,
} from './shape.js';

const ATTRIBUTE_VALUE: FieldType = {
  obj: {
    stringValue: 'string',
    int64Value: 'int',
    doubleValue: 'number',
    boolValue: 'bool',
    bytesValue: 'string',
    timestampValue: 'string',
    durationValue: 'duration',
    stringMapValue: { obj: { entries: 'stringMap' } },
  },
};
const ATTRIBUTES: FieldType = { obj: { attributes: { map: ATTRIBUTE_VALUE } } };

const HTTP_API_SPEC: Shape = {
  attributes: ATTRIBUTES,
  patterns: {
    list: { obj: { attributes: ATTRIBUTES, httpMethod: 'string', uriTemplate: 'string', regex: 'string' } },
  },
  apiKeys: { list: { obj: { query: 'string', header: 'string', cookie: 'string' } } },
};

const ISTIO_SERVICE: FieldType = {
  obj: { name: 'string', namespace: 'string', domain: 'string', service: 'string', labels: 'stringMap' },
};
const SPEC_REF: FieldType = { obj: { name: 'string', namespace: 'string' } };

export const QUOTA_SPEC_BINDING: Shape = {
  services: { list: ISTIO_SERVICE },
  quotaSpecs: { list: SPEC_REF },
};

export const QUOTA_SPEC: Shape = {
  rules: {
    list: {
      obj: {
        match: { list: { obj: { clause: { map: STRING_MATCH } } } },
        quotas: { list: { obj: { quota: 'string', charge: 'int' } } },
      },
    },
  },
};

/** Each reference needs a name (or, for services, a `service` host instead of name/namespace). */
function validateRefs(list: unknown[], path: string, what: string, errs: FieldError[]): void {
  must(list.length > 0, path, `at least one ${what} must be specified`, errs);
  list.forEach((r, i) => {
    const ref = obj(r);
    const p = join(path, i);
    const host = str(ref.service);
    if (host !== '') {
      must(
        str(ref.name) === '' && str(ref.namespace) === '',
        p,
        'service cannot be combined with name or namespace',
        errs,
      );
      return;
    }
    must(str(ref.name) !== '', join(p, 'name'), 'name is mandatory', errs);
    const ns = str(ref.namespace);
    if (ns !== '')
      must(
        isDns1123Label(ns),
        join(p, 'namespace'),
        `namespace ${JSON.stringify(ns)} must be a valid label`,
        errs,
      );
  });
}

/** config.istio.io/v1alpha2 HTTPAPISpec (istio.mixer.v1.config.client.HTTPAPISpec). */
export const validateHttpApiSpec: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, HTTP_API_SPEC, '', errs);
  const patterns = arr(spec.patterns);
  must(patterns.length > 0, 'patterns', 'at least one pattern must be specified', errs);
  patterns.forEach((p, i) => {
    const pattern = obj(p);
    const path = join('patterns', i);
    must(
      str(field(pattern, 'httpMethod')) !== '',
      join(path, 'httpMethod'),
      'http_method cannot be empty',
      errs,
    );
    const tmpl = str(field(pattern, 'uriTemplate'));
    const regex = str(pattern.regex);
    must(
      (tmpl !== '') !== (regex !== ''),
      path,
      'exactly one of uri_template or regex must be specified',
      errs,
    );
    if (regex !== '') {
      try {
        new RegExp(regex);
      } catch {
        errs.push({ field: join(path, 'regex'), message: `invalid regex ${JSON.stringify(regex)}` });
      }
    }
  });
  arr(field(spec, 'apiKeys')).forEach((k, i) => {
    const key = obj(k);
    const set = ['query', 'header', 'cookie'].filter((f) => str(key[f]) !== '').length;
    must(set === 1, join('apiKeys', i), 'exactly one of query, header or cookie must be specified', errs);
  });
  return errs;
};

/** config.istio.io/v1alpha2 HTTPAPISpecBinding. */
export const validateHttpApiSpecBinding: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, { services: { list: ISTIO_SERVICE }, apiSpecs: { list: SPEC_REF } }, '', errs);
  validateRefs(arr(spec.services), 'services', 'service', errs);
  validateRefs(arr(field(spec, 'apiSpecs')), 'apiSpecs', 'spec', errs);
  return errs;
};

/** config.istio.io/v1alpha2 QuotaSpec. */
export const validateQuotaSpec: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, QUOTA_SPEC, '', errs);
  const rules = arr(spec.rules);
  must(rules.length > 0, 'rules', 'at least one rule must be specified', errs);
  rules.forEach((r, i) => {
    const quotas = arr(obj(r).quotas);
    const path = join(join('rules', i), 'quotas');
    must(quotas.length > 0, path, 'at least one quota must be specified', errs);
    quotas.forEach((q, j) => {
      const quota = obj(q);
      must(str(quota.quota) !== '', join(join(path, j), 'quota'), 'quota name is mandatory', errs);
      const charge = Number(quota.charge ?? 0);
      must(
        charge > 0,
        join(join(path, j), 'charge'),
        `quota ${str(quota.quota)} charge must be greater than 0`,
        errs,
      );
    });
  });
  return errs;
};

/** config.istio.io/v1alpha2 QuotaSpecBinding. */
export const validateQuotaSpecBinding: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, QUOTA_SPEC_BINDING, '', errs);
  validateRefs(arr(spec.services), 'services', 'service', errs);
  validateRefs(arr(field(spec, 'quotaSpecs')), 'quotaSpecs', 'spec', errs);
  return errs;
};
