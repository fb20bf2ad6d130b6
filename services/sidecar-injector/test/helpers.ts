import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedTestdata } from '@keel/testing';
import { type Injector, loadInjector } from '../src/index.js';

export type Obj = Record<string, any>;

/** services/sidecar-injector (the compiled tests run from dist/test). */
export const packageDir = fileURLToPath(new URL('../../', import.meta.url));
export const fixture = (name: string) => join(packageDir, 'test/fixtures', name);
export const shippedConfig = join(packageDir, 'files/config.yaml');
export const shippedValues = join(packageDir, 'files/values.json');
export const injectTestdata = (...p: string[]) => sharedTestdata('pkg/kube/inject/testdata', ...p);

/** The shipped template with the values Istio 1.4's unit tests used (tag `unittest`, no tracer). */
export async function unitTestInjector(): Promise<Injector> {
  const r = await loadInjector({ configFile: shippedConfig, valuesFile: fixture('unittest-values.json') });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.value;
}

export const readText = (p: string) => readFileSync(p, 'utf8');

/** A 1.4-style pod as the API server hands it to the webhook (generated name, ReplicaSet owner). */
export function replicaSetPod(overrides: { annotations?: Obj; labels?: Obj; spec?: Obj } = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'reviews-v1-5d8f9c7b4-',
      namespace: 'bookinfo',
      labels: { app: 'reviews', version: 'v1', 'pod-template-hash': '5d8f9c7b4', ...overrides.labels },
      ...(overrides.annotations ? { annotations: overrides.annotations } : {}),
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'reviews-v1-5d8f9c7b4',
          controller: true,
          uid: 'u1',
        },
      ],
    },
    spec: {
      serviceAccountName: 'bookinfo-reviews',
      containers: [
        {
          name: 'reviews',
          image: 'docker.io/istio/examples-bookinfo-reviews-v1:1.15.0',
          ports: [{ name: 'http', containerPort: 9080, protocol: 'TCP' }],
          readinessProbe: { httpGet: { path: '/health', port: 9080 }, periodSeconds: 5 },
          livenessProbe: { httpGet: { path: '/live', port: 'http', scheme: 'HTTPS' } },
        },
      ],
      ...overrides.spec,
    },
  };
}
