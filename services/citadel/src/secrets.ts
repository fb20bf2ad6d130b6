// The secret controller (Kubernetes mode): one `istio.<sa>` Secret per ServiceAccount in enabled
// namespaces, reissued within the grace period or when the trust bundle changed, recreated when
// deleted, removed with its ServiceAccount. Only the Lease holder writes.
import { X509Certificate } from 'node:crypto';
import { createInformer, electLeader, type Informer, kubeRequest, type LeaderElection } from '@keel/kube';
import { type CertificateAuthority, generateKey, privateKeyPem, spiffeId, spkiDer } from '@keel/pki';
import type { Logger } from '@keel/runtime';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { CitadelMetrics } from './metrics.js';

export const SECRET_TYPE = 'istio.io/key-and-cert';
export const SA_ANNOTATION = 'istio.io/service-account.name';
export const secretName = (sa: string): string => `istio.${sa}`;

export interface SecretControllerOptions {
  kubeConfig: KubeConfig;
  authority: () => CertificateAuthority;
  trustDomain: string;
  citadelNamespace: string;
  workloadTtlMs: number;
  gracePeriodRatio: number;
  minGracePeriodMs: number;
  enableNamespacesByDefault: boolean;
  /** `sa.ns` -> extra DNS SANs (from --custom-dns-names and --append-dns-names). */
  dnsNames?: ReadonlyMap<string, readonly string[]>;
  resyncMs: number;
  lease: { durationMs: number; renewMs: number };
  identity: string;
  metrics: CitadelMetrics;
  logger: Logger;
  /** Called when istio-ca-secret changes (another replica rotated the root). */
  onCaSecretChange?: () => void;
}

export interface SecretController {
  start(): Promise<void>;
  stop(): Promise<void>;
  isLeader(): boolean;
  /** Re-checks every ServiceAccount now (after a root change). */
  resync(): void;
}

type Obj = KubernetesObject & { data?: Record<string, string>; type?: string };

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

/** Webhook service accounts whose secrets get `<svc>.<ns>.svc` and `<svc>.<ns>` with --append-dns-names. */
export const WEBHOOK_SERVICES: Readonly<Record<string, string>> = {
  'istio-sidecar-injector-service-account': 'istio-sidecar-injector',
  'istio-galley-service-account': 'istio-galley',
};

/**
 * Extra DNS SANs per `sa.ns`: `--custom-dns-names` entries `sa.ns:dns[,...]` (Istio's default gives
 * istio-pilot-service-account `istio-pilot.<ns>`), plus the webhook services when `append` is set.
 */
export function dnsNamesFor(
  custom: readonly string[],
  append: boolean,
  citadelNs: string,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (key: string, name: string) => out.set(key, [...new Set([...(out.get(key) ?? []), name])]);
  for (const entry of custom) {
    const [key, name] = entry.split(':');
    if (key && name) add(key, name);
  }
  if (append)
    for (const [sa, svc] of Object.entries(WEBHOOK_SERVICES)) {
      add(`${sa}.${citadelNs}`, `${svc}.${citadelNs}.svc`);
      add(`${sa}.${citadelNs}`, `${svc}.${citadelNs}`);
    }
  return out;
}

/** Whether Citadel manages a namespace (labels ca.istio.io/override, then ca.istio.io/env). */
export function namespaceEnabled(
  ns: KubernetesObject | undefined,
  citadelNs: string,
  byDefault: boolean,
): boolean {
  const labels = ns?.metadata?.labels ?? {};
  const override = labels['ca.istio.io/override'];
  if (override === 'true' || override === 'false') return override === 'true';
  const env = labels['ca.istio.io/env'];
  if (env !== undefined) return env === citadelNs;
  return byDefault;
}

export function createSecretController(opts: SecretControllerOptions): SecretController {
  const log = opts.logger;
  const kc = opts.kubeConfig;
  const informer = (path: string, onEvent: (type: string, o: Obj) => void): Informer<Obj> =>
    createInformer<Obj>({
      kubeConfig: kc,
      path,
      logger: log,
      onEvent,
      backoff: { initialMs: 200, maxMs: 5000 },
    });
  const key = (ns: string, name: string) => `${ns}/${name}`;
  const sas = informer('/api/v1/serviceaccounts', (type, o) => {
    if (type === 'delete') void removeSecret(o.metadata!.namespace!, o.metadata!.name!);
    else schedule(o.metadata!.namespace!, o.metadata!.name!);
  });
  const secrets = informer('/api/v1/secrets', (type, o) => {
    if (o.metadata?.name === 'istio-ca-secret' && o.metadata.namespace === opts.citadelNamespace) {
      if (type === 'update') opts.onCaSecretChange?.();
      return;
    }
    if (o.type !== SECRET_TYPE) return;
    const sa = (o.metadata?.annotations as Record<string, string> | undefined)?.[SA_ANNOTATION];
    if (sa && type === 'delete') {
      recreate.add(key(o.metadata!.namespace!, sa));
      schedule(o.metadata!.namespace!, sa);
    }
  });
  const namespaces = informer('/api/v1/namespaces', () => resync());
  const inFlight = new Map<string, boolean>();
  const recreate = new Set<string>();
  let election: LeaderElection | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const leader = () => election?.isLeader() === true;
  const findSa = (ns: string, name: string) =>
    sas.list().find((s) => s.metadata?.namespace === ns && s.metadata?.name === name);
  const findSecret = (ns: string, sa: string) =>
    secrets.list().find((s) => s.metadata?.namespace === ns && s.metadata?.name === secretName(sa));
  const enabled = (ns: string) =>
    namespaceEnabled(
      namespaces.list().find((n) => n.metadata?.name === ns),
      opts.citadelNamespace,
      opts.enableNamespacesByDefault,
    );

  /** Why the secret must be (re)written, or undefined when it is current. */
  function staleReason(secret: Obj | undefined): string | undefined {
    if (!secret) return 'missing';
    const data = secret.data ?? {};
    if (unb64(data['root-cert.pem']) !== opts.authority().trustBundle().join('')) return 'root changed';
    try {
      const leaf = new X509Certificate(unb64(data['cert-chain.pem']));
      const from = Date.parse(leaf.validFrom);
      const to = Date.parse(leaf.validTo);
      const grace = Math.max((to - from) * opts.gracePeriodRatio, opts.minGracePeriodMs);
      if (to - Date.now() < grace) return 'within grace period';
    } catch {
      return 'unreadable certificate';
    }
    return undefined;
  }

  async function writeSecret(ns: string, sa: string): Promise<void> {
    if (!leader() || !findSa(ns, sa) || !enabled(ns)) return;
    const current = findSecret(ns, sa);
    const reason = staleReason(current);
    if (!reason) return;
    let body: Obj;
    try {
      const key = await generateKey({ algorithm: 'RSA' });
      const ca = opts.authority();
      const issued = ca.issue({
        spki: spkiDer(key),
        uris: [spiffeId(opts.trustDomain, ns, sa)],
        ...(opts.dnsNames?.has(`${sa}.${ns}`) ? { dnsNames: opts.dnsNames.get(`${sa}.${ns}`) } : {}),
        ttlMs: opts.workloadTtlMs,
      });
      body = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secretName(sa), namespace: ns, annotations: { [SA_ANNOTATION]: sa } },
        type: SECRET_TYPE,
        data: {
          'cert-chain.pem': b64(issued.chain.slice(0, -1).join('')),
          'key.pem': b64(privateKeyPem(key)),
          'root-cert.pem': b64(ca.trustBundle().join('')),
        },
      };
    } catch (e) {
      opts.metrics.secretSignErr.inc();
      log.error({ err: e, namespace: ns, serviceAccount: sa }, 'signing a secret failed');
      return;
    }
    const base = `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets`;
    const res = current
      ? await kubeRequest(kc, { method: 'PUT', path: `${base}/${secretName(sa)}`, body })
      : await kubeRequest(kc, { method: 'POST', path: base, body });
    if (res.status !== 200 && res.status !== 201) {
      log.warn({ namespace: ns, serviceAccount: sa, status: res.status }, 'writing secret failed');
      return;
    }
    if (!current) {
      if (recreate.delete(key(ns, sa))) opts.metrics.secretRecreated.inc();
      else opts.metrics.secretCreated.inc();
    }
    log.info({ namespace: ns, secret: secretName(sa), reason }, 'secret written');
  }

  async function removeSecret(ns: string, sa: string): Promise<void> {
    recreate.delete(key(ns, sa));
    if (!leader()) return;
    const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${secretName(sa)}`;
    const res = await kubeRequest(kc, { method: 'DELETE', path }).catch(() => undefined);
    if (res?.status === 200) {
      opts.metrics.secretDeleted.inc();
      log.info({ namespace: ns, secret: secretName(sa) }, 'secret deleted with its service account');
    }
  }

  /** Runs writeSecret for a key, one at a time per key; a request during a run runs it again after. */
  function schedule(ns: string, sa: string): void {
    const k = key(ns, sa);
    if (inFlight.has(k)) {
      inFlight.set(k, true);
      return;
    }
    inFlight.set(k, false);
    void writeSecret(ns, sa)
      .catch((e) => log.warn({ err: String(e), key: k }, 'secret reconcile failed'))
      .finally(() => {
        const again = inFlight.get(k);
        inFlight.delete(k);
        if (again && !stopped) schedule(ns, sa);
      });
  }

  function resync(): void {
    if (stopped || !leader()) return;
    for (const sa of sas.list()) schedule(sa.metadata!.namespace!, sa.metadata!.name!);
  }

  return {
    isLeader: leader,
    resync,
    async start() {
      await Promise.all([namespaces.start(), secrets.start(), sas.start()]);
      election = electLeader({
        kubeConfig: kc,
        namespace: opts.citadelNamespace,
        name: 'istio-citadel',
        identity: opts.identity,
        leaseDurationMs: opts.lease.durationMs,
        renewMs: opts.lease.renewMs,
        logger: log,
        onStartedLeading: () => resync(),
        onStoppedLeading: () => {},
      });
      timer = setInterval(resync, opts.resyncMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await election?.stop();
      for (const i of [sas, secrets, namespaces]) i.stop();
    },
  };
}
