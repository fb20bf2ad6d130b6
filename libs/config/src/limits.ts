import { ErrorCode, resourceError } from './errors.js';
import type { ConfigError, Resource } from './types.js';

/**
 * Size and depth limits every resource must meet before any validator or converter sees it.
 * The same rule runs in galley's file and Kubernetes sources, its webhook and `keelctl validate`
 * (all of them go through validateResource).
 */
export interface ResourceLimits {
  /** Largest resource, as JSON bytes (metadata and body). Kubernetes' own object limit by default. */
  maxBytes: number;
  /** Deepest nesting of objects and arrays under `spec` (or a core kind's top level). */
  maxDepth: number;
}

/** 1.5 MiB: the largest object the Kubernetes API server (etcd's request limit) stores. */
export const DEFAULT_MAX_RESOURCE_BYTES = 1.5 * 1024 * 1024;
/**
 * Free-form fields (EnvoyFilter patches, Mixer params) travel as google.protobuf.Struct, where each
 * JSON level costs two message levels, and protobufjs (like protoc) refuses more than 100 levels;
 * Pilot embeds patch values a dozen message levels deep in Envoy config. 32 leaves room for both
 * and is far beyond any real Istio config.
 */
export const DEFAULT_MAX_RESOURCE_DEPTH = 32;

export const defaultLimits: ResourceLimits = Object.freeze({
  maxBytes: DEFAULT_MAX_RESOURCE_BYTES,
  maxDepth: DEFAULT_MAX_RESOURCE_DEPTH,
});

const MAX_SEGMENT = 40;

function segment(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  const k = key.length > MAX_SEGMENT ? `${key.slice(0, MAX_SEGMENT)}...` : key;
  return `.${k}`;
}

interface Frame {
  value: unknown;
  depth: number;
  path: string;
}

/**
 * Walks `value` without recursion (a hostile input must not blow the stack), adding its approximate
 * JSON size to `budget.used`; returns the path of the first container nested deeper than `maxDepth`,
 * or stops early once the size is over `budget.max`.
 */
function walk(root: unknown, rootPath: string, maxDepth: number, budget: { used: number; max: number }) {
  const stack: Frame[] = [{ value: root, depth: 0, path: rootPath }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop() as Frame;
    if (budget.used > budget.max) return undefined;
    if (typeof value === 'string') {
      budget.used += Buffer.byteLength(value) + 2;
      continue;
    }
    if (value === null || typeof value !== 'object') {
      budget.used += 5;
      continue;
    }
    if (depth >= maxDepth) return path;
    budget.used += 2;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        budget.used += 1;
        stack.push({ value: value[i], depth: depth + 1, path: path + segment(i) });
      }
      continue;
    }
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      budget.used += Buffer.byteLength(k) + 4;
      stack.push({ value: v, depth: depth + 1, path: path + segment(k) });
    }
  }
  return undefined;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

/**
 * Checks one resource against `limits`; returns the errors (empty when within limits). A resource
 * over a limit must not be validated further or converted: the errors name the offending path.
 */
export function checkLimits(
  res: Resource,
  core: boolean,
  limits: ResourceLimits = defaultLimits,
): ConfigError[] {
  const budget = { used: 0, max: limits.maxBytes };
  const prefix = core ? '' : 'spec';
  const deepMeta = walk(res.metadata, 'metadata', 3, budget);
  if (deepMeta !== undefined)
    return [resourceError(res, ErrorCode.TOO_DEEP, 'metadata nests too deeply', deepMeta)];
  // The body starts one level down under `spec`; a core kind's body is its top level.
  const deep = walk(res.body, prefix, limits.maxDepth + (core ? 0 : 1), budget);
  if (budget.used > limits.maxBytes) {
    return [
      resourceError(
        res,
        ErrorCode.TOO_LARGE,
        `resource is larger than the ${formatBytes(limits.maxBytes)} limit`,
        prefix === '' ? undefined : prefix,
      ),
    ];
  }
  if (deep !== undefined) {
    return [
      resourceError(
        res,
        ErrorCode.TOO_DEEP,
        `nested more than ${limits.maxDepth} levels deep (the limit for any field)`,
        deep.replace(/^\./, ''),
      ),
    ];
  }
  return [];
}
