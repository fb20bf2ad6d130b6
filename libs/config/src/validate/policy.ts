import type { FieldError, SpecValidator } from './common.js';
import { arr, checkShape, type FieldType, field, join, must, obj, type Shape, str } from './shape.js';

const HEADER_OPERATION: FieldType = {
  list: {
    obj: { name: 'string', values: 'stringList', operation: { enum: ['REPLACE', 'REMOVE', 'APPEND'] } },
  },
};

export const RULE: Shape = {
  match: 'string',
  actions: { list: { obj: { handler: 'string', instances: 'stringList', name: 'string' } } },
  requestHeaderOperations: HEADER_OPERATION,
  responseHeaderOperations: HEADER_OPERATION,
  sampling: {
    obj: {
      random: {
        obj: {
          attributeExpression: 'string',
          percentSampled: { obj: { numerator: 'uint', denominator: { enum: ['HUNDRED', 'TEN_THOUSAND'] } } },
          useIndependentRandomness: 'bool',
        },
      },
      rateLimit: { obj: { samplingDuration: 'duration', maxUnsampledEntries: 'int', samplingRate: 'int' } },
    },
  },
};

export const INSTANCE: Shape = {
  compiledTemplate: 'string',
  template: 'string',
  params: 'any',
  attributeBindings: 'stringMap',
};

const TLS_AUTH: FieldType = {
  obj: {
    caCertificates: 'string',
    tokenPath: 'string',
    authHeader: { enum: ['PLAIN', 'BEARER'] },
    oauth: {
      obj: {
        clientId: 'string',
        clientSecret: 'string',
        tokenUrl: 'string',
        scopes: 'stringList',
        endpointParams: 'stringMap',
      },
    },
    serverName: 'string',
  },
};

export const HANDLER: Shape = {
  compiledAdapter: 'string',
  adapter: 'string',
  params: 'any',
  connection: {
    obj: {
      address: 'string',
      timeout: 'duration',
      authentication: {
        obj: {
          tls: TLS_AUTH,
          mutual: {
            obj: {
              privateKey: 'string',
              clientCertificate: 'string',
              caCertificates: 'string',
              serverName: 'string',
            },
          },
        },
      },
    },
  },
};

export const VALUE_TYPES = [
  'VALUE_TYPE_UNSPECIFIED',
  'STRING',
  'INT64',
  'DOUBLE',
  'BOOL',
  'TIMESTAMP',
  'IP_ADDRESS',
  'EMAIL_ADDRESS',
  'URI',
  'DNS_NAME',
  'DURATION',
  'STRING_MAP',
] as const;

export const ATTRIBUTE_MANIFEST: Shape = {
  revision: 'string',
  name: 'string',
  attributes: { map: { obj: { description: 'string', valueType: { enum: VALUE_TYPES } } } },
};

const ADAPTER_INFO: Shape = {
  description: 'string',
  sessionBased: 'bool',
  templates: 'stringList',
  config: 'string',
};
const TEMPLATE_INFO: Shape = { descriptor: 'string' };

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Exactly one of two alternative reference fields must be a non-empty string. */
function oneOf(spec: Record<string, unknown>, a: string, b: string, errs: FieldError[]): void {
  const set = [str(field(spec, a)) !== '', str(field(spec, b)) !== ''].filter(Boolean).length;
  must(set === 1, '', `exactly one of ${a} or ${b} must be specified`, errs);
}

/** config.istio.io/v1alpha2 rule (istio.policy.v1beta1.Rule). */
export const validateRule: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, RULE, '', errs);
  arr(spec.actions).forEach((a, i) => {
    const action = obj(a);
    const path = join('actions', i);
    must(str(action.handler) !== '', join(path, 'handler'), 'handler must be specified', errs);
    arr(action.instances).forEach((inst, j) => {
      must(str(inst) !== '', join(join(path, 'instances'), j), 'instance name must not be empty', errs);
    });
  });
  for (const ops of ['requestHeaderOperations', 'responseHeaderOperations']) {
    arr(field(spec, ops)).forEach((o, i) => {
      must(str(obj(o).name) !== '', join(join(ops, i), 'name'), 'header name must not be empty', errs);
    });
  }
  return errs;
};

/** config.istio.io/v1alpha2 instance (istio.policy.v1beta1.Instance). */
export const validateInstance: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, INSTANCE, '', errs);
  oneOf(spec, 'compiledTemplate', 'template', errs);
  return errs;
};

/** config.istio.io/v1alpha2 handler (istio.policy.v1beta1.Handler). */
export const validateHandler: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, HANDLER, '', errs);
  oneOf(spec, 'compiledAdapter', 'adapter', errs);
  if (spec.params !== undefined && spec.params !== null && typeof spec.params !== 'object') {
    errs.push({ field: 'params', message: 'params must be an object' });
  }
  return errs;
};

/** config.istio.io/v1alpha2 attributemanifest (istio.policy.v1beta1.AttributeManifest). */
export const validateAttributeManifest: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, ATTRIBUTE_MANIFEST, '', errs);
  return errs;
};

/** config.istio.io/v1alpha2 adapter (adapter Info: description, session_based, templates, config). */
export const validateAdapter: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, ADAPTER_INFO, '', errs);
  const config = spec.config;
  if (typeof config === 'string')
    must(BASE64.test(config), 'config', 'config must be base64-encoded bytes', errs);
  return errs;
};

/** config.istio.io/v1alpha2 template (template Info: descriptor). */
export const validateTemplate: SpecValidator = (spec) => {
  const errs: FieldError[] = [];
  checkShape(spec, TEMPLATE_INFO, '', errs);
  const d = spec.descriptor;
  if (typeof d === 'string')
    must(BASE64.test(d), 'descriptor', 'descriptor must be base64-encoded bytes', errs);
  return errs;
};

/** Legacy adapter/template kinds: the spec is a free google.protobuf.Struct. */
export const validateStruct: SpecValidator = () => [];
