import type { AdmissionDecision, AdmissionRequest, JsonPatchOp } from '@keel/kube';
import fastJsonPatch from 'fast-json-patch';
import type { Injector } from './config.js';
import { injectRequired } from './decision.js';
import { deeperThan, MAX_POD_DEPTH } from './depth.js';
import { injectPod, type Obj, type PodLike } from './inject.js';
import { workloadOfPod } from './workloads.js';

export type ReviewOutcome = 'injected' | 'skipped' | 'failed';

export interface InjectionReview {
  decision: AdmissionDecision;
  outcome: ReviewOutcome;
  /** Why it was skipped or failed; the pod's name for injections. */
  detail: string;
}

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 6902 operations turning `before` into `after`, computed by fast-json-patch. */
export function diffPatch(before: Obj, after: Obj): JsonPatchOp[] {
  return fastJsonPatch.compare(before, after) as JsonPatchOp[];
}

/**
 * Decides one AdmissionRequest: pods that must not be injected (spec 5.1) are allowed unchanged;
 * others get the JSON Patch from the request's pod to the injected pod. A pod that cannot be
 * injected (bad annotations, a template that fails for it) is denied with the reason.
 */
export function reviewInjection(injector: Injector, req: AdmissionRequest): InjectionReview {
  const skip = (detail: string): InjectionReview => ({
    decision: { allowed: true },
    outcome: 'skipped',
    detail,
  });
  if (req.kind?.kind !== 'Pod' || (req.kind.group ?? '') !== '') return skip(`not a pod: ${req.kind?.kind}`);
  if (req.operation !== 'CREATE') return skip(`operation ${req.operation}`);
  const obj = req.object;
  if (!isObj(obj) || !isObj(obj.spec) || (obj.metadata !== undefined && !isObj(obj.metadata))) {
    return {
      decision: {
        allowed: false,
        message: 'request.object is not a pod (no spec)',
        code: 400,
        reason: 'BadRequest',
      },
      outcome: 'failed',
      detail: 'no pod in request',
    };
  }
  if (deeperThan(obj, MAX_POD_DEPTH)) {
    return {
      decision: {
        allowed: false,
        message: `request.object nests deeper than ${MAX_POD_DEPTH} levels`,
        code: 400,
        reason: 'BadRequest',
      },
      outcome: 'failed',
      detail: 'pod too deep',
    };
  }
  const namespace = req.namespace || (obj.metadata?.namespace as string | undefined) || '';
  const pod: PodLike = { metadata: (obj.metadata as Obj | undefined) ?? {}, spec: obj.spec };
  const name = `${namespace}/${pod.metadata?.name || pod.metadata?.generateName || '?'}`;
  const decided = injectRequired(injector.config, pod, namespace);
  if (!decided.inject) return skip(decided.reason);
  const result = injectPod(injector, pod, workloadOfPod(pod, namespace));
  if (!result.ok) {
    return {
      decision: { allowed: false, message: `injection failed: ${result.errors.join('; ')}`, code: 400 },
      outcome: 'failed',
      detail: result.errors.join('; '),
    };
  }
  if (!result.value.injected) return skip(result.value.reason);
  const after = { ...obj, metadata: result.value.pod.metadata, spec: result.value.pod.spec };
  return { decision: { allowed: true, patch: diffPatch(obj, after) }, outcome: 'injected', detail: name };
}
