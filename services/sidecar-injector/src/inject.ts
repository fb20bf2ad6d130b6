import type { Result } from '@keel/runtime';
import jsyaml from 'js-yaml';
import { validateAnnotations } from './annotations.js';
import type { Injector } from './config.js';
import { restoreAppProbes, rewriteAppProbes } from './probes.js';

export type Obj = Record<string, any>;

/** A pod, or a workload's pod template: metadata plus spec (JSON form). */
export interface PodLike {
  metadata?: Obj;
  spec: Obj;
}

/** What the template sees besides the pod: the owning workload's name and type. */
export interface WorkloadRef {
  deploymentMeta: { name?: string; namespace?: string };
  typeMeta: { apiVersion?: string; kind?: string };
}

/** The parsed output of the template (Istio's SidecarInjectionSpec). */
export interface SidecarSpec {
  rewriteAppHTTPProbe: boolean;
  initContainers: Obj[];
  containers: Obj[];
  volumes: Obj[];
  imagePullSecrets: Obj[];
  dnsConfig?: Obj;
  podRedirectAnnot: Record<string, string>;
}

/** `sidecar.istio.io/status`: what an injection added, so a later one can remove it. */
export interface SidecarStatus {
  version: string;
  initContainers: string[] | null;
  containers: string[] | null;
  volumes: string[] | null;
  imagePullSecrets: string[] | null;
}

export const STATUS_ANNOTATION = 'sidecar.istio.io/status';
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';
export const PROXY_CONTAINER = 'istio-proxy';

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const names = (v: Obj[]): string[] | null => (v.length === 0 ? null : v.map((x) => String(x.name ?? '')));

/** Renders the template for a pod and parses the YAML it produced. */
export function renderSidecar(injector: Injector, pod: PodLike, ref: WorkloadRef): Result<SidecarSpec> {
  const proxyConfig = { interceptionMode: 'REDIRECT', ...injector.mesh.defaultConfig };
  let text: string;
  try {
    text = injector.render({
      ObjectMeta: pod.metadata ?? {},
      Spec: pod.spec,
      ProxyConfig: proxyConfig,
      MeshConfig: injector.mesh,
      Values: injector.values,
      DeploymentMeta: ref.deploymentMeta,
      TypeMeta: ref.typeMeta,
    });
  } catch (e) {
    return { ok: false, errors: [`rendering the sidecar template: ${(e as Error).message}`] };
  }
  let parsed: unknown;
  try {
    // The core schema: YAML 1.2 scalars, no timestamps or merge keys (as the `yaml` package reads it).
    parsed = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA });
  } catch (e) {
    return { ok: false, errors: [`the sidecar template produced invalid YAML: ${(e as Error).message}`] };
  }
  if (!isObj(parsed)) return { ok: false, errors: ['the sidecar template did not produce a mapping'] };
  const redirect: Record<string, string> = {};
  for (const [k, v] of Object.entries(isObj(parsed.podRedirectAnnot) ? parsed.podRedirectAnnot : {})) {
    if (v !== null && v !== undefined && String(v) !== '') redirect[k] = String(v);
  }
  return {
    ok: true,
    value: {
      rewriteAppHTTPProbe: parsed.rewriteAppHTTPProbe === true,
      initContainers: list(parsed.initContainers),
      containers: list(parsed.containers),
      volumes: list(parsed.volumes),
      imagePullSecrets: list(parsed.imagePullSecrets),
      ...(isObj(parsed.dnsConfig) ? { dnsConfig: parsed.dnsConfig } : {}),
      podRedirectAnnot: redirect,
    },
  };
}

/** The previous injection's status, or undefined when absent or unreadable. */
export function readStatus(pod: PodLike): SidecarStatus | undefined {
  const raw = pod.metadata?.annotations?.[STATUS_ANNOTATION];
  if (typeof raw !== 'string') return undefined;
  try {
    const s = JSON.parse(raw) as Partial<SidecarStatus>;
    if (!isObj(s)) return undefined;
    const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : null);
    return {
      version: String(s.version ?? ''),
      initContainers: strings(s.initContainers),
      containers: strings(s.containers),
      volumes: strings(s.volumes),
      imagePullSecrets: strings(s.imagePullSecrets),
    };
  } catch {
    return undefined;
  }
}

/** True when the pod already carries this template's sidecar (same version, containers present). */
export function alreadyInjected(injector: Injector, pod: PodLike): boolean {
  const status = readStatus(pod);
  if (!status || status.version !== injector.version) return false;
  const present = new Set(list(pod.spec.containers).map((c) => c.name));
  return (status.containers ?? []).every((n) => present.has(n));
}

/**
 * A copy of the levels injection writes to (metadata, its annotations and labels, spec, the
 * containers); everything below them is shared with `input`, and nothing here or in the functions
 * that edit the copy mutates a shared object (they replace what they change).
 */
function copyForWrite(input: PodLike): PodLike & { metadata: Obj } {
  const metadata: Obj = isObj(input.metadata) ? { ...input.metadata } : {};
  if (isObj(metadata.annotations)) metadata.annotations = { ...metadata.annotations };
  if (isObj(metadata.labels)) metadata.labels = { ...metadata.labels };
  const spec: Obj = { ...input.spec };
  if (Array.isArray(spec.containers))
    spec.containers = spec.containers.map((c: unknown) => (isObj(c) ? { ...c } : c));
  return { metadata, spec };
}

/** Removes what a previous injection listed in its status (Istio's re-injection). */
function removePrevious(pod: PodLike, status: SidecarStatus): void {
  restoreAppProbes(pod.spec);
  const drop = (field: string, gone: string[] | null) => {
    if (!gone || !Array.isArray(pod.spec[field])) return;
    pod.spec[field] = list(pod.spec[field]).filter((x) => !gone.includes(String(x.name)));
    if (pod.spec[field].length === 0) delete pod.spec[field];
  };
  drop('initContainers', status.initContainers);
  drop('containers', status.containers);
  drop('volumes', status.volumes);
  drop('imagePullSecrets', status.imagePullSecrets);
  delete pod.metadata?.annotations?.[STATUS_ANNOTATION];
}

function statusAnnotation(version: string, s: SidecarSpec): string {
  const status: SidecarStatus = {
    version,
    initContainers: names(s.initContainers),
    containers: names(s.containers),
    volumes: names(s.volumes),
    imagePullSecrets: names(s.imagePullSecrets),
  };
  return JSON.stringify(status);
}

export type InjectOutcome =
  | { injected: true; pod: PodLike; spec: SidecarSpec }
  | { injected: false; pod: PodLike; reason: string };

/**
 * Injects the sidecar into a copy of `input` (never modified): removes what an older injection
 * listed, renders the template, appends containers, volumes and pull secrets, rewrites app probes,
 * and sets the redirect and status annotations and the tlsMode label. A pod that already carries
 * this template's sidecar comes back unchanged. Bad annotations are errors.
 */
export function injectPod(injector: Injector, input: PodLike, ref: WorkloadRef): Result<InjectOutcome> {
  const annotationErrors = validateAnnotations(input.metadata?.annotations);
  if (annotationErrors.length > 0) return { ok: false, errors: annotationErrors };
  if (alreadyInjected(injector, input)) {
    return { ok: true, value: { injected: false, pod: input, reason: 'already injected' } };
  }
  const pod = copyForWrite(input);
  const previous = readStatus(pod);
  if (previous) removePrevious(pod, previous);
  const rendered = renderSidecar(injector, pod, ref);
  if (!rendered.ok) return rendered;
  const s = rendered.value;
  const spec = pod.spec;
  const append = (field: string, items: Obj[]) => {
    // The rendered items are fresh objects from this render: no copy needed.
    if (items.length > 0) spec[field] = [...list(spec[field]), ...items];
  };
  append('initContainers', s.initContainers);
  append('containers', s.containers);
  append('volumes', s.volumes);
  const secrets = s.imagePullSecrets.filter(
    (x) => !list(spec.imagePullSecrets).some((y) => y.name === x.name),
  );
  append('imagePullSecrets', secrets);
  if (s.dnsConfig) spec.dnsConfig = s.dnsConfig;
  if (s.rewriteAppHTTPProbe) rewriteAppProbes(spec, statusPortOf(s));
  if ((injector.values.global as Obj | undefined)?.sds?.enabled === true) {
    spec.securityContext = { ...(isObj(spec.securityContext) ? spec.securityContext : {}), fsGroup: 1337 };
  }
  pod.metadata.annotations = {
    ...(isObj(pod.metadata.annotations) ? pod.metadata.annotations : {}),
    ...s.podRedirectAnnot,
    ...injector.config.injectedAnnotations,
    [STATUS_ANNOTATION]: statusAnnotation(injector.version, s),
  };
  pod.metadata.labels = {
    ...(isObj(pod.metadata.labels) ? pod.metadata.labels : {}),
    [TLS_MODE_LABEL]: 'istio',
  };
  return { ok: true, value: { injected: true, pod, spec: s } };
}

/** The status port the proxy container's readiness probe uses (0 when there is none). */
function statusPortOf(s: SidecarSpec): number {
  const proxy = s.containers.find((c) => c.name === PROXY_CONTAINER);
  const port = proxy?.readinessProbe?.httpGet?.port;
  return typeof port === 'number' ? port : 0;
}
