import { goJSON } from './helpers.js';

type Obj = Record<string, any>;

/** Env var of the proxy container that carries the original app probes for pilot-agent. */
export const APP_PROBERS_ENV = 'ISTIO_KUBE_APP_PROBERS';

const KINDS: [field: string, suffix: string][] = [
  ['readinessProbe', 'readyz'],
  ['livenessProbe', 'livez'],
];

/** Resolves a named probe port against the container's ports; numbers pass through. */
function resolvePort(container: Obj, port: unknown): unknown {
  if (typeof port !== 'string' || /^\d+$/.test(port)) return typeof port === 'string' ? Number(port) : port;
  const named = (Array.isArray(container.ports) ? container.ports : []).find((p: Obj) => p?.name === port);
  return named ? named.containerPort : port;
}

/**
 * Points every app container's HTTP readiness and liveness probe at pilot-agent
 * (`/app-health/<container>/readyz|livez` on the status port) and records the original probes,
 * keyed by the new path, in the proxy container's `ISTIO_KUBE_APP_PROBERS`. Probes already on the
 * status port are left alone. Modifies `spec` in place (the caller owns the copy).
 */
export function rewriteAppProbes(spec: Obj, statusPort: number): void {
  if (!statusPort || !Array.isArray(spec.containers)) return;
  const proxy = spec.containers.find((c: Obj) => c?.name === 'istio-proxy');
  if (!proxy) return;
  const probers: Record<string, Obj> = {};
  for (const c of spec.containers as Obj[]) {
    if (c === proxy || !c) continue;
    for (const [field, suffix] of KINDS) {
      const get = c[field]?.httpGet;
      if (!get || typeof get !== 'object') continue;
      const port = resolvePort(c, get.port);
      if (port === statusPort) continue;
      const path = `/app-health/${c.name}/${suffix}`;
      probers[path] = { ...get, port };
      const rewritten: Obj = { ...get, path, port: statusPort };
      if (rewritten.scheme === 'HTTPS') rewritten.scheme = 'HTTP';
      delete rewritten.host;
      c[field] = { ...c[field], httpGet: rewritten };
    }
  }
  if (Object.keys(probers).length === 0) return;
  const env = (Array.isArray(proxy.env) ? proxy.env : []).filter((e: Obj) => e?.name !== APP_PROBERS_ENV);
  proxy.env = [...env, { name: APP_PROBERS_ENV, value: goJSON(probers) }];
}

/**
 * Undoes rewriteAppProbes with the originals recorded in the proxy container's env, so that a
 * re-injection (a newer template) rewrites from the app's own probes. Modifies `spec` in place.
 */
export function restoreAppProbes(spec: Obj): void {
  if (!Array.isArray(spec.containers)) return;
  const proxy = spec.containers.find((c: Obj) => c?.name === 'istio-proxy');
  const raw = (Array.isArray(proxy?.env) ? proxy.env : []).find(
    (e: Obj) => e?.name === APP_PROBERS_ENV,
  )?.value;
  if (typeof raw !== 'string') return;
  let probers: Record<string, Obj>;
  try {
    probers = JSON.parse(raw) as Record<string, Obj>;
  } catch {
    return;
  }
  for (const c of spec.containers as Obj[]) {
    if (c === proxy || !c) continue;
    for (const [field, suffix] of KINDS) {
      const original = probers[`/app-health/${c.name}/${suffix}`];
      if (c[field]?.httpGet && original && typeof original === 'object') {
        c[field] = { ...c[field], httpGet: original };
      }
    }
  }
}
