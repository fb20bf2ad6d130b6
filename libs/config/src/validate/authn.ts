import type { FieldError, SpecValidator } from './common.js';
import {
  arr,
  checkShape,
  type FieldType,
  field,
  isDns1123Label,
  join,
  must,
  normalizeShape,
  obj,
  type Shape,
  STRING_MATCH,
  str,
} from './shape.js';

const JWT: FieldType = {
  obj: {
    issuer: 'string',
    audiences: 'stringList',
    jwksUri: 'string',
    jwks: 'string',
    jwtHeaders: 'stringList',
    jwtParams: 'stringList',
    triggerRules: {
      list: { obj: { excludedPaths: { list: STRING_MATCH }, includedPaths: { list: STRING_MATCH } } },
    },
  },
};

const POLICY: Shape = {
  targets: {
    list: {
      obj: {
        name: 'string',
        labels: 'stringMap',
        ports: { list: { obj: { number: 'uint', name: 'string' } } },
      },
    },
  },
  peers: {
    list: {
      obj: { mtls: { obj: { allowTls: 'bool', mode: { enum: ['STRICT', 'PERMISSIVE'] } } }, jwt: JWT },
    },
  },
  peerIsOptional: 'bool',
  origins: { list: { obj: { jwt: JWT } } },
  originIsOptional: 'bool',
  principalBinding: { enum: ['USE_PEER', 'USE_ORIGIN'] },
};

const DEFAULT_NAME = 'default';

function validateJwt(jwt: Record<string, unknown>, path: string, errs: FieldError[]): void {
  must(str(jwt.issuer) !== '', join(path, 'issuer'), 'issuer must be set', errs);
  const uri = str(field(jwt, 'jwksUri'));
  if (uri !== '') {
    let ok = false;
    try {
      const u = new URL(uri);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
    } catch {
      ok = false;
    }
    must(ok, join(path, 'jwksUri'), `invalid jwks uri ${JSON.stringify(uri)}`, errs);
  }
  arr(field(jwt, 'jwtHeaders')).forEach((h, i) => {
    must(
      str(h) !== '',
      join(join(path, 'jwtHeaders'), i),
      'location header must be a non-empty string',
      errs,
    );
  });
  arr(field(jwt, 'jwtParams')).forEach((p, i) => {
    must(str(p) !== '', join(join(path, 'jwtParams'), i), 'location query must be a non-empty string', errs);
  });
}

function validatePort(port: Record<string, unknown>, path: string, errs: FieldError[]): void {
  const num = port.number;
  const name = str(port.name);
  if (num !== undefined && num !== null) {
    const n = Number(num);
    must(
      Number.isInteger(n) && n >= 1 && n <= 65535,
      join(path, 'number'),
      `port number ${num} must be in the range 1..65535`,
      errs,
    );
  } else {
    must(
      name !== '' && isDns1123Label(name),
      join(path, 'name'),
      `invalid port name ${JSON.stringify(name)}`,
      errs,
    );
  }
}

function validatePolicyBody(spec: Record<string, unknown>, errs: FieldError[]): void {
  checkShape(spec, POLICY, '', errs);
  arr(spec.targets).forEach((t, i) => {
    const target = obj(t);
    const path = join('targets', i);
    const name = str(target.name);
    must(
      isDns1123Label(name),
      join(path, 'name'),
      `target name ${JSON.stringify(name)} must be a valid label`,
      errs,
    );
    for (const [j, p] of arr(target.ports).entries())
      validatePort(obj(p), join(join(path, 'ports'), j), errs);
  });
  arr(spec.peers).forEach((p, i) => {
    const jwt = obj(p).jwt;
    if (jwt !== undefined && jwt !== null) validateJwt(obj(jwt), join(join('peers', i), 'jwt'), errs);
  });
  arr(spec.origins).forEach((o, i) => {
    validateJwt(obj(obj(o).jwt), join(join('origins', i), 'jwt'), errs);
  });
}

/** authentication.istio.io/v1alpha1 Policy (namespaced). */
export const validateAuthenticationPolicy: SpecValidator = (spec, meta) => {
  const errs: FieldError[] = [];
  validatePolicyBody(spec, errs);
  const targets = arr(spec.targets).length;
  if (targets === 0 && meta.name !== DEFAULT_NAME) {
    errs.push({
      message: `authentication policy with no target rules must be named "${DEFAULT_NAME}", found "${meta.name}"`,
    });
  }
  if (targets > 0 && meta.name === DEFAULT_NAME) {
    errs.push({
      message: `authentication policy with name "${DEFAULT_NAME}" must not have any target rules`,
    });
  }
  return errs;
};

/** authentication.istio.io/v1alpha1 MeshPolicy (cluster-scoped; name must be `default`, no targets). */
export const validateMeshPolicy: SpecValidator = (spec, meta) => {
  const errs: FieldError[] = [];
  validatePolicyBody(spec, errs);
  if (meta.name !== DEFAULT_NAME) {
    errs.push({
      message: `cluster-scoped authentication policy name must be "${DEFAULT_NAME}", found "${meta.name}"`,
    });
  }
  if (arr(spec.targets).length > 0) {
    errs.push({ field: 'targets', message: 'cluster-scoped authentication policy must not have targets' });
  }
  return errs;
};

/**
 * The normalized Policy/MeshPolicy spec (camelCase names, enum names, no nulls). A peer written
 * `- mtls:` (null) selects the mtls method all the same in Istio 1.4 (jsonpb sets the oneof), so it
 * becomes `mtls: {}` (STRICT) instead of disappearing.
 */
export const normalizeAuthenticationPolicy = (spec: Record<string, unknown>): Record<string, unknown> => {
  const out = normalizeShape(spec, POLICY);
  if (!Array.isArray(spec.peers)) return out;
  out.peers = spec.peers.map((raw, i) => {
    const peer = obj((out.peers as unknown[])[i]);
    return isObjLike(raw) && 'mtls' in raw && raw.mtls === null ? { ...peer, mtls: {} } : peer;
  });
  return out;
};

const isObjLike = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
