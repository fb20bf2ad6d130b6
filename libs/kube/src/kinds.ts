/** One Kubernetes resource kind and where it lives in the REST API. */
export interface KindInfo {
  /** API group; '' for the core group (served under /api/v1). */
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural used in paths, e.g. 'services', 'virtualservices'. */
  plural: string;
  namespaced: boolean;
}

/** Core kinds every Keel component reads or writes. */
export const CORE_KINDS: readonly KindInfo[] = [
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', namespaced: true },
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  { group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false },
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true },
  {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'MutatingWebhookConfiguration',
    plural: 'mutatingwebhookconfigurations',
    namespaced: false,
  },
  {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'ValidatingWebhookConfiguration',
    plural: 'validatingwebhookconfigurations',
    namespaced: false,
  },
];

/** `apiVersion` string of a group/version: 'v1' for core, 'group/version' otherwise. */
export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** Splits an `apiVersion` into group and version ('v1' -> core group ''). */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  if (slash < 0) return { group: '', version: apiVersion };
  return { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * REST path of a kind's collection: `/api/v1/services`, `/apis/g/v/namespaces/ns/plural`.
 * Without a namespace the path lists across all namespaces (or the cluster-scoped collection).
 */
export function kindPath(ref: {
  group: string;
  version: string;
  plural: string;
  namespace?: string;
}): string {
  const base = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  const ns = ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
  return `${base}${ns}/${ref.plural}`;
}

/** REST path of one object of a kind. */
export function objectPath(info: KindInfo, name: string, namespace?: string): string {
  const ns = info.namespaced ? (namespace ?? 'default') : undefined;
  return `${kindPath({ ...info, namespace: ns })}/${encodeURIComponent(name)}`;
}

/** A lookup table of kinds, by apiVersion+kind and by group/version/plural. */
export class KindTable {
  private readonly byKind = new Map<string, KindInfo>();
  private readonly byPlural = new Map<string, KindInfo>();

  constructor(initial: readonly KindInfo[] = CORE_KINDS) {
    for (const k of initial) this.register(k);
  }

  /** Adds (or replaces) a kind. */
  register(info: KindInfo): void {
    const copy = { ...info };
    this.byKind.set(`${apiVersionOf(info.group, info.version)}|${info.kind}`, copy);
    this.byPlural.set(`${info.group}|${info.version}|${info.plural}`, copy);
  }

  forObject(apiVersion: string, kind: string): KindInfo | undefined {
    return this.byKind.get(`${apiVersion}|${kind}`);
  }

  forPlural(group: string, version: string, plural: string): KindInfo | undefined {
    return this.byPlural.get(`${group}|${version}|${plural}`);
  }

  all(): KindInfo[] {
    return [...this.byPlural.values()];
  }
}
