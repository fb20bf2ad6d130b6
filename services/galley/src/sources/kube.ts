import { type KindInfo, kinds, toResource } from '@keel/config';
import { createInformer, type Informer, kindPath } from '@keel/kube';
import type { Logger } from '@keel/runtime';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Ingestor } from '../ingest.js';

/** Origin tag of every resource read from the Kubernetes API. */
export const KUBE_ORIGIN = 'kube';

export interface KubeSourceOptions {
  kubeConfig: KubeConfig;
  ingestor: Ingestor;
  logger: Logger;
  /** Mesh config ConfigMap (`istio` in `istio-system`, key `mesh`): called with its YAML text. */
  onMeshConfig?: (yaml: string | undefined) => void;
  meshConfigMap?: { namespace: string; name: string; key: string };
  backoff?: { initialMs: number; maxMs: number };
  onEventError?: (kind: string) => void;
  onEventSuccess?: (kind: string) => void;
}

export interface KubeSource {
  start(): Promise<void>;
  stop(): void;
  synced(): boolean;
}

/** The kinds Galley reads from Kubernetes: every Istio kind and the core kinds with a collection. */
export function watchedKinds(): KindInfo[] {
  // Ingress is read once, from networking.k8s.io (the API server serves the same objects under extensions).
  return kinds.filter(
    (k) =>
      k.kind !== 'ConfigMap' && k.collection !== '' && !(k.kind === 'Ingress' && k.group === 'extensions'),
  );
}

/** Informers for every watched kind feeding the ingestor (validation included), plus the mesh ConfigMap. */
export function createKubeSource(opts: KubeSourceOptions): KubeSource {
  const informers: Informer<KubernetesObject>[] = [];
  for (const info of watchedKinds()) {
    const path = kindPath({ group: info.group, version: info.version, plural: info.plural });
    informers.push(
      createInformer<KubernetesObject>({
        kubeConfig: opts.kubeConfig,
        path,
        logger: opts.logger,
        ...(opts.backoff ? { backoff: opts.backoff } : {}),
        onEvent: (type, obj) => {
          const withKind = { apiVersion: info.apiVersion, kind: info.kind, ...obj } as Record<
            string,
            unknown
          >;
          const converted = toResource(withKind);
          if ('error' in converted) {
            opts.onEventError?.(info.kind);
            opts.logger.warn({ kind: info.kind, error: converted.error.message }, 'unreadable object');
            return;
          }
          opts.onEventSuccess?.(info.kind);
          if (type === 'delete') opts.ingestor.removeOne(KUBE_ORIGIN, converted.resource);
          else opts.ingestor.applyOne(KUBE_ORIGIN, converted.resource);
        },
      }),
    );
  }
  const cm = opts.meshConfigMap ?? { namespace: 'istio-system', name: 'istio', key: 'mesh' };
  if (opts.onMeshConfig) {
    const onMesh = opts.onMeshConfig;
    informers.push(
      createInformer<KubernetesObject>({
        kubeConfig: opts.kubeConfig,
        path: kindPath({ group: '', version: 'v1', plural: 'configmaps', namespace: cm.namespace }),
        logger: opts.logger,
        ...(opts.backoff ? { backoff: opts.backoff } : {}),
        onEvent: (type, obj) => {
          if (obj.metadata?.name !== cm.name) return;
          const data = (obj as { data?: Record<string, string> }).data;
          onMesh(type === 'delete' ? undefined : data?.[cm.key]);
        },
      }),
    );
  }
  return {
    async start() {
      await Promise.all(informers.map((i) => i.start()));
    },
    stop() {
      for (const i of informers) i.stop();
    },
    synced() {
      return informers.every((i) => i.synced());
    },
  };
}
