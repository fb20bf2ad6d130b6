import type { Result } from '@keel/runtime';
import type { Injector } from './config.js';
import { deeperThan, MAX_POD_DEPTH } from './depth.js';
import { injectPod, type Obj, type PodLike, type WorkloadRef } from './inject.js';

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Who owns a pod the webhook sees, as Istio 1.4 worked it out: a generated pod takes its
 * controller's kind and name, and a ReplicaSet named `<deployment>-<pod-template-hash>` becomes the
 * Deployment; otherwise the pod itself.
 */
export function workloadOfPod(pod: PodLike, namespace: string): WorkloadRef {
  const meta = pod.metadata ?? {};
  const ref: WorkloadRef = {
    deploymentMeta: { name: meta.name, namespace },
    typeMeta: { apiVersion: 'v1', kind: 'Pod' },
  };
  if (typeof meta.generateName === 'string' && meta.generateName !== '') {
    const owner = (Array.isArray(meta.ownerReferences) ? meta.ownerReferences : []).find(
      (o: Obj) => isObj(o) && o.controller === true,
    );
    if (owner) {
      ref.typeMeta = { apiVersion: owner.apiVersion, kind: owner.kind };
      const hash = meta.labels?.['pod-template-hash'];
      const name = String(owner.name ?? '');
      if (owner.kind === 'ReplicaSet' && hash && name.endsWith(`-${hash}`)) {
        ref.deploymentMeta.name = name.slice(0, -(hash.length + 1));
        ref.typeMeta.kind = 'Deployment';
        // ReplicaSets and Deployments share the apps group/version.
      } else {
        ref.deploymentMeta.name = name;
      }
    }
  }
  if (!ref.deploymentMeta.name) ref.deploymentMeta.name = meta.name ?? meta.generateName;
  return ref;
}

/** Where each workload kind keeps its pod template. */
const TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  DeploymentConfig: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export interface ObjectInjection {
  object: Obj;
  /** One line per object left as it was, and why. */
  warnings: string[];
}

function describe(obj: Obj): string {
  return `${obj.kind ?? '?'} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name ?? '?'}`;
}

/**
 * `kube-inject` for one object: a Pod, a workload with a pod template, or a List of them. Manual
 * injection is an explicit request, so the webhook's policy and `sidecar.istio.io/inject` are not
 * consulted (as in Istio 1.4); hostNetwork pods and already-injected ones are left as they are,
 * with a warning. Other kinds pass through. Returns a new object; the input is not modified.
 */
export function injectObject(injector: Injector, input: Obj, depth = 0): Result<ObjectInjection> {
  if (depth > 4) return { ok: false, errors: [`${describe(input)}: lists nested too deeply`] };
  if (depth === 0 && deeperThan(input, MAX_POD_DEPTH + 8)) {
    return { ok: false, errors: [`${describe(input)}: nests deeper than ${MAX_POD_DEPTH + 8} levels`] };
  }
  const obj = structuredClone(input);
  if (Array.isArray(obj.items) && (obj.kind === 'List' || String(obj.kind ?? '').endsWith('List'))) {
    const warnings: string[] = [];
    const errors: string[] = [];
    obj.items = obj.items.map((item: unknown) => {
      if (!isObj(item)) return item;
      const r = injectObject(injector, item, depth + 1);
      if (!r.ok) {
        errors.push(...r.errors);
        return item;
      }
      warnings.push(...r.value.warnings);
      return r.value.object;
    });
    return errors.length > 0 ? { ok: false, errors } : { ok: true, value: { object: obj, warnings } };
  }
  const kind = String(obj.kind ?? '');
  const path = kind === 'Pod' ? [] : TEMPLATE_PATHS[kind];
  if (!path) return { ok: true, value: { object: obj, warnings: [] } };
  let holder: Obj = obj;
  for (const key of path.slice(0, -1)) {
    if (!isObj(holder[key])) return { ok: false, errors: [`${describe(obj)}: has no ${path.join('.')}`] };
    holder = holder[key];
  }
  const last = path[path.length - 1];
  const template: Obj | undefined = last === undefined ? obj : holder[last];
  if (!isObj(template) || !isObj(template.spec)) {
    return { ok: false, errors: [`${describe(obj)}: has no pod spec at ${[...path, 'spec'].join('.')}`] };
  }
  if (template.spec.hostNetwork === true) {
    return {
      ok: true,
      value: { object: obj, warnings: [`${describe(obj)}: hostNetwork pods are not injected`] },
    };
  }
  const ref: WorkloadRef = {
    deploymentMeta: { name: obj.metadata?.name, namespace: obj.metadata?.namespace },
    typeMeta: { apiVersion: obj.apiVersion, kind },
  };
  const pod: PodLike = { metadata: template.metadata ?? {}, spec: template.spec };
  const r = injectPod(injector, pod, ref);
  if (!r.ok) return { ok: false, errors: r.errors.map((e) => `${describe(obj)}: ${e}`) };
  if (!r.value.injected) {
    return { ok: true, value: { object: obj, warnings: [`${describe(obj)}: ${r.value.reason}`] } };
  }
  const injected = { ...template, metadata: r.value.pod.metadata, spec: r.value.pod.spec };
  if (last === undefined) return { ok: true, value: { object: injected, warnings: [] } };
  holder[last] = injected;
  return { ok: true, value: { object: obj, warnings: [] } };
}
