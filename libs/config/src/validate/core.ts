import type { FieldError, SpecValidator } from './common.js';
import { arr, isObj, join, must, obj, str } from './shape.js';

function validPort(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

/** Checks that `body` has only `allowed` top-level fields, each an object when present. */
function topLevel(body: Record<string, unknown>, allowed: string[], errs: FieldError[]): void {
  for (const [k, v] of Object.entries(body)) {
    if (!allowed.includes(k)) errs.push({ field: k, message: `unknown field "${k}"` });
    else if (v !== null && v !== undefined && !isObj(v) && k !== 'subsets' && k !== 'immutable') {
      errs.push({ field: k, message: `${k} must be an object` });
    }
  }
}

/** core/v1 Service: body {spec, status?}; ports 1..65535, protocols TCP|UDP|SCTP. */
export const validateK8sService: SpecValidator = (body) => {
  const errs: FieldError[] = [];
  topLevel(body, ['spec', 'status'], errs);
  const spec = obj(body.spec);
  arr(spec.ports).forEach((p, i) => {
    const port = obj(p);
    const path = join('spec.ports', i);
    must(
      validPort(port.port),
      join(path, 'port'),
      `port number ${JSON.stringify(port.port)} must be in the range 1..65535`,
      errs,
    );
    const target = port.targetPort;
    if (typeof target === 'number')
      must(validPort(target), join(path, 'targetPort'), `invalid targetPort ${target}`, errs);
    const proto = port.protocol;
    if (proto !== undefined)
      must(
        ['TCP', 'UDP', 'SCTP'].includes(str(proto)),
        join(path, 'protocol'),
        `invalid protocol ${JSON.stringify(proto)}`,
        errs,
      );
  });
  return errs;
};

/** core/v1 Endpoints: body {subsets[]{addresses[]{ip}, notReadyAddresses[], ports[]{port}}}. */
export const validateK8sEndpoints: SpecValidator = (body) => {
  const errs: FieldError[] = [];
  topLevel(body, ['subsets'], errs);
  if (body.subsets !== undefined && body.subsets !== null && !Array.isArray(body.subsets)) {
    errs.push({ field: 'subsets', message: 'subsets must be a list' });
  }
  arr(body.subsets).forEach((s, i) => {
    const subset = obj(s);
    const path = join('subsets', i);
    for (const key of ['addresses', 'notReadyAddresses']) {
      arr(subset[key]).forEach((a, j) => {
        must(str(obj(a).ip) !== '', join(join(join(path, key), j), 'ip'), 'address ip is required', errs);
      });
    }
    arr(subset.ports).forEach((p, j) => {
      const port = obj(p).port;
      must(
        validPort(port),
        join(join(join(path, 'ports'), j), 'port'),
        `port number ${JSON.stringify(port)} must be in the range 1..65535`,
        errs,
      );
    });
  });
  return errs;
};

/** core/v1 Pod, Namespace and Node: body {spec, status}. */
export const validateK8sSpecStatus: SpecValidator = (body) => {
  const errs: FieldError[] = [];
  topLevel(body, ['spec', 'status'], errs);
  return errs;
};

/** core/v1 ConfigMap: body {data, binaryData, immutable}; data values must be strings. */
export const validateK8sConfigMap: SpecValidator = (body) => {
  const errs: FieldError[] = [];
  topLevel(body, ['data', 'binaryData', 'immutable'], errs);
  for (const [k, v] of Object.entries(obj(body.data))) {
    must(typeof v === 'string', join('data', k), 'data values must be strings', errs);
  }
  return errs;
};

/** extensions|networking.k8s.io/v1beta1 Ingress spec: backend, rules[].host/http.paths[].backend, tls. */
export const validateIngress: SpecValidator = (body) => {
  const errs: FieldError[] = [];
  for (const k of Object.keys(body)) {
    if (!['backend', 'rules', 'tls', 'ingressClassName'].includes(k))
      errs.push({ field: k, message: `unknown field "${k}"` });
  }
  for (const k of ['rules', 'tls']) {
    if (body[k] !== undefined && body[k] !== null && !Array.isArray(body[k]))
      errs.push({ field: k, message: `${k} must be a list` });
  }
  const backend = (b: unknown, path: string) => {
    const o = obj(b);
    must(
      typeof o.serviceName === 'string' && o.serviceName !== '',
      join(path, 'serviceName'),
      'serviceName is required',
      errs,
    );
    must(o.servicePort !== undefined, join(path, 'servicePort'), 'servicePort is required', errs);
  };
  if (body.backend !== undefined) backend(body.backend, 'backend');
  arr(body.rules).forEach((r, i) => {
    const rule = obj(r);
    arr(obj(rule.http).paths).forEach((p, j) => {
      backend(obj(p).backend, join(join(join(join(join('rules', i), 'http'), 'paths'), j), 'backend'));
    });
  });
  return errs;
};
