import { ErrorCode, resourceError } from '../errors.js';
import { isCoreKind, type KindInfo, kindFor } from '../kinds.js';
import { checkLimits, type ResourceLimits } from '../limits.js';
import type { ConfigError, ObjectMeta, Resource, Result } from '../types.js';
import { isDns1123Label, isDns1123Subdomain } from './shape.js';

export interface ValidateOptions {
  /** Namespace given to namespaced resources that have none (as kubectl does); unset means it is an error. */
  defaultNamespace?: string;
  /** Size and depth limits (defaults: 1.5 MiB, 32 levels); checked before anything else reads the body. */
  limits?: ResourceLimits;
}

function checkName(res: Resource, errs: ConfigError[]): void {
  const name = res.metadata.name;
  if (name === '')
    errs.push(resourceError(res, ErrorCode.MISSING_NAME, 'metadata.name is required', 'metadata.name'));
  else if (!isDns1123Subdomain(name)) {
    errs.push(
      resourceError(
        res,
        ErrorCode.INVALID_NAME,
        `invalid name "${name}": must be a DNS-1123 subdomain`,
        'metadata.name',
      ),
    );
  }
}

/** The namespace the resource ends up with (undefined for cluster-scoped kinds). */
function checkNamespace(
  res: Resource,
  info: KindInfo | undefined,
  opts: ValidateOptions,
  errs: ConfigError[],
): string | undefined {
  if (info?.clusterScoped) return undefined;
  const ns = res.metadata.namespace ?? opts.defaultNamespace;
  if (ns === undefined || ns === '') {
    if (info !== undefined)
      errs.push(
        resourceError(
          res,
          ErrorCode.MISSING_NAMESPACE,
          'metadata.namespace is required',
          'metadata.namespace',
        ),
      );
    return undefined;
  }
  if (!isDns1123Label(ns)) {
    errs.push(
      resourceError(
        res,
        ErrorCode.INVALID_NAMESPACE,
        `invalid namespace "${ns}": must be a DNS-1123 label`,
        'metadata.namespace',
      ),
    );
  }
  return ns;
}

function checkStringMaps(res: Resource, errs: ConfigError[]): void {
  for (const key of ['labels', 'annotations'] as const) {
    for (const [k, v] of Object.entries(res.metadata[key] ?? {})) {
      if (typeof v !== 'string') {
        errs.push(
          resourceError(
            res,
            ErrorCode.INVALID_METADATA,
            `value of ${key} "${k}" must be a string`,
            `metadata.${key}.${k}`,
          ),
        );
      }
    }
  }
}

function checkSpec(res: Resource, info: KindInfo, errs: ConfigError[]): void {
  const prefix = isCoreKind(info) ? '' : 'spec';
  try {
    const meta = {
      name: res.metadata.name,
      ...(res.metadata.namespace !== undefined ? { namespace: res.metadata.namespace } : {}),
    };
    for (const fe of info.validate(res.body, meta)) {
      const field =
        fe.field === undefined
          ? prefix === ''
            ? undefined
            : prefix
          : prefix === ''
            ? fe.field
            : `${prefix}.${fe.field}`;
      errs.push(resourceError(res, ErrorCode.INVALID_SPEC, fe.message, field));
    }
  } catch (err) {
    errs.push(resourceError(res, ErrorCode.VALIDATOR_FAILED, `validator failed: ${(err as Error).message}`));
  }
}

/**
 * Validates one resource: kind known, metadata, top-level fields, then the kind's spec validator.
 * Returns every error at once; on success the value carries the effective namespace
 * (defaulted, or removed for cluster-scoped kinds) and the kind's normalized spec
 * (KindInfo.normalize: one spelling per field, one duration form). The input is not modified.
 */
export function validateResource(res: Resource, opts: ValidateOptions = {}): Result<Resource, ConfigError[]> {
  const info = kindFor(res.apiVersion, res.kind);
  const overLimit = checkLimits(res, info !== undefined && isCoreKind(info), opts.limits);
  if (overLimit.length > 0) return { ok: false, errors: overLimit };
  const errs: ConfigError[] = [];
  if (info === undefined) {
    errs.push(
      resourceError(res, ErrorCode.UNKNOWN_KIND, `unknown kind ${res.kind} (apiVersion ${res.apiVersion})`),
    );
  }
  checkName(res, errs);
  const namespace = checkNamespace(res, info, opts, errs);
  checkStringMaps(res, errs);
  for (const key of Object.keys(res.extra ?? {})) {
    errs.push(resourceError(res, ErrorCode.UNKNOWN_TOP_LEVEL_FIELD, `unknown top-level field "${key}"`, key));
  }
  const metadata: ObjectMeta = { ...res.metadata };
  if (namespace === undefined) delete metadata.namespace;
  else metadata.namespace = namespace;
  const normalized: Resource = { ...res, metadata };
  if (info !== undefined) checkSpec(normalized, info, errs);
  if (errs.length > 0) return { ok: false, errors: errs };
  if (info?.normalize) normalized.body = info.normalize(res.body);
  return { ok: true, value: normalized };
}

/** Identity of a resource within one input set. */
export function resourceKey(res: Resource): string {
  return `${res.apiVersion}|${res.kind}|${res.metadata.namespace ?? ''}|${res.metadata.name}`;
}

/** Validates a set: each resource, plus DUPLICATE_RESOURCE for a repeated kind/namespace/name. */
export function validateResources(
  resources: readonly Resource[],
  opts: ValidateOptions = {},
): { valid: Resource[]; errors: ConfigError[] } {
  const valid: Resource[] = [];
  const errors: ConfigError[] = [];
  const seen = new Map<string, Resource>();
  for (const res of resources) {
    const r = validateResource(res, opts);
    if (!r.ok) {
      errors.push(...r.errors);
      continue;
    }
    const key = resourceKey(r.value);
    const first = seen.get(key);
    if (first !== undefined) {
      const where =
        first.source?.file !== undefined
          ? ` (first defined at ${first.source.file}:${first.source.line ?? '?'})`
          : '';
      errors.push(
        resourceError(
          r.value,
          ErrorCode.DUPLICATE_RESOURCE,
          `duplicate ${res.kind} ${key.split('|').slice(2).join('/')}${where}`,
        ),
      );
      continue;
    }
    seen.set(key, r.value);
    valid.push(r.value);
  }
  return { valid, errors };
}
