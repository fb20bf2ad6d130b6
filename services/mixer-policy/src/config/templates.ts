// Instance templates of the CHECK and QUOTA varieties: params are expressions, compiled once.
import {
  type AttributeManifest,
  type AttributeValue,
  type Bag,
  type CompiledExpression,
  compileExpression,
  type ReferencedAttributes,
} from '@keel/attributes';
import type { CheckInstance, QuotaInstance } from '../adapters/types.js';

/** Builds one request's instance from a bag; throws EvaluationError when a field cannot be evaluated. */
export type InstanceBuilder = (bag: Bag, refs?: ReferencedAttributes) => CheckInstance | QuotaInstance;

type Fields = Record<string, CompiledExpression>;

function compileField(
  path: string,
  v: unknown,
  manifest: AttributeManifest,
  errors: string[],
): CompiledExpression | undefined {
  if (typeof v !== 'string' || v.trim() === '') {
    errors.push(`${path}: must be an expression string`);
    return undefined;
  }
  const c = compileExpression(v, manifest);
  if (!c.ok) {
    errors.push(...c.errors.map((e) => `${path}: ${e}`));
    return undefined;
  }
  return c.value;
}

function compileMap(path: string, v: unknown, manifest: AttributeManifest, errors: string[]): Fields {
  const out: Fields = {};
  if (v === undefined || v === null) return out;
  if (typeof v !== 'object' || Array.isArray(v)) {
    errors.push(`${path}: must be a map of expressions`);
    return out;
  }
  for (const [k, e] of Object.entries(v)) {
    const c = compileField(`${path}.${k}`, e, manifest, errors);
    if (c) out[k] = c;
  }
  return out;
}

function evalMap(fields: Fields, bag: Bag, refs?: ReferencedAttributes): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const k in fields) out[k] = fields[k]!.evaluate(bag, refs);
  return out;
}

function str(f: CompiledExpression | undefined, bag: Bag, refs?: ReferencedAttributes): string {
  return f ? String(f.evaluate(bag, refs)) : '';
}

/** Compiles an instance of a policy template; undefined template means not a policy template. */
export function compileInstance(
  name: string,
  template: string,
  params: Record<string, unknown>,
  manifest: AttributeManifest,
  errors: string[],
): InstanceBuilder | undefined {
  switch (template) {
    case 'checknothing':
      return () => ({ template: 'checknothing', name });
    case 'listentry': {
      const value = compileField('params.value', params.value, manifest, errors);
      if (!value) return undefined;
      return (bag, refs) => ({ template: 'listentry', name, value: value.evaluate(bag, refs) });
    }
    case 'quota': {
      const dims = compileMap('params.dimensions', params.dimensions, manifest, errors);
      return (bag, refs) => ({ template: 'quota', name, dimensions: evalMap(dims, bag, refs) });
    }
    case 'authorization': {
      const subject = (params.subject ?? {}) as Record<string, unknown>;
      const action = (params.action ?? {}) as Record<string, unknown>;
      const opt = (path: string, v: unknown) =>
        v === undefined ? undefined : compileField(path, v, manifest, errors);
      const user = opt('params.subject.user', subject.user);
      const groups = opt('params.subject.groups', subject.groups);
      const sprops = compileMap('params.subject.properties', subject.properties, manifest, errors);
      const ns = opt('params.action.namespace', action.namespace);
      const service = opt('params.action.service', action.service);
      const method = opt('params.action.method', action.method);
      const path = opt('params.action.path', action.path);
      const aprops = compileMap('params.action.properties', action.properties, manifest, errors);
      return (bag, refs) => ({
        template: 'authorization',
        name,
        subject: {
          user: str(user, bag, refs),
          groups: str(groups, bag, refs),
          properties: evalMap(sprops, bag, refs),
        },
        action: {
          namespace: str(ns, bag, refs),
          service: str(service, bag, refs),
          method: str(method, bag, refs),
          path: str(path, bag, refs),
          properties: evalMap(aprops, bag, refs),
        },
      });
    }
    default:
      return undefined;
  }
}
