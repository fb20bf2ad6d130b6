// The ExpressionCompiler over @keel/attributes (Istio's expression language, type-checked
// against the attribute manifests).
import {
  type AttributeManifest,
  type AttributeManifestSpec,
  compileExpression,
  DEFAULT_MANIFEST,
  manifestFromSpec,
  mergeManifests,
} from '@keel/attributes';
import type { Bag } from '../bag.js';
import type { ExpressionCompiler } from './expression.js';

/** A compiler over `manifest` (default: Istio 1.4's istioproxy + kubernetes manifests). */
export function cexlCompiler(manifest: AttributeManifest = DEFAULT_MANIFEST): ExpressionCompiler {
  return {
    compile(text) {
      const r = compileExpression(text, manifest);
      if (!r.ok) return { ok: false, errors: `'${text}': ${r.errors.map((e) => e.toString()).join('; ')}` };
      const c = r.value;
      return {
        ok: true,
        value: {
          text,
          type: c.type,
          evaluate(bag: Bag) {
            const v = c.tryEvaluate(bag);
            return v.ok ? v.value : undefined;
          },
        },
      };
    },
  };
}

/** Istio's default manifests plus the `attributemanifest` resources of a config (bad entries skipped). */
export function manifestOf(specs: readonly AttributeManifestSpec[]): AttributeManifest {
  if (specs.length === 0) return DEFAULT_MANIFEST;
  return mergeManifests(DEFAULT_MANIFEST, ...specs.map((s) => manifestFromSpec(s).attributes));
}
