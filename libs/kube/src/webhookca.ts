import { type Logger, watchTlsFiles } from '@keel/runtime';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest } from './request.js';

export type WebhookConfigurationKind = 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';

export interface WebhookCaBundleOptions {
  kind: WebhookConfigurationKind;
  /** metadata.name of the configuration, e.g. `istio-sidecar-injector`, `istio-galley`. */
  name: string;
  /** PEM of the CA that signed the serving certificate (or the serving chain itself when self-signed). */
  caPem: string;
  /** Only these webhooks (by `name`); all of them when absent. */
  webhooks?: readonly string[];
  timeoutMs?: number;
}

export interface WebhookCaBundleResult {
  /** Webhooks whose caBundle was written; empty when every one already had it. */
  patched: string[];
}

const PLURAL: Record<WebhookConfigurationKind, string> = {
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
  ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
};

/**
 * Writes `caBundle` (base64 of `caPem`) into the named webhook configuration's webhooks, as Istio
 * 1.4's injector and galley did for their own configurations. One JSON Patch whose `test`
 * operations pin each webhook's position and name, so a concurrent edit makes the server refuse
 * the patch instead of writing the wrong entry. Rejects with the API server's message on failure.
 */
export async function patchWebhookCaBundle(
  kc: KubeConfig,
  opts: WebhookCaBundleOptions,
): Promise<WebhookCaBundleResult> {
  const path = `/apis/admissionregistration.k8s.io/v1/${PLURAL[opts.kind]}/${encodeURIComponent(opts.name)}`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const current = await kubeRequest(kc, { method: 'GET', path, timeoutMs });
  if (current.status !== 200) throw new Error(`GET ${opts.kind} ${opts.name}: ${describe(current)}`);
  const hooks = (current.body as { webhooks?: unknown }).webhooks;
  if (!Array.isArray(hooks)) throw new Error(`${opts.kind} ${opts.name} has no webhooks`);
  const bundle = Buffer.from(opts.caPem).toString('base64');
  const ops: unknown[] = [];
  const patched: string[] = [];
  hooks.forEach((h: { name?: string; clientConfig?: { caBundle?: string } }, i) => {
    const hookName = String(h?.name ?? '');
    if (opts.webhooks && !opts.webhooks.includes(hookName)) return;
    if (h?.clientConfig?.caBundle === bundle) return;
    ops.push({ op: 'test', path: `/webhooks/${i}/name`, value: hookName });
    if (h?.clientConfig === undefined)
      ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig`, value: {} });
    ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: bundle });
    patched.push(hookName);
  });
  const missing = (opts.webhooks ?? []).filter((w) => !hooks.some((h: { name?: string }) => h?.name === w));
  if (missing.length > 0) throw new Error(`${opts.kind} ${opts.name} has no webhook ${missing.join(', ')}`);
  if (ops.length === 0) return { patched };
  const res = await kubeRequest(kc, {
    method: 'PATCH',
    path,
    body: ops,
    contentType: 'application/json-patch+json',
    timeoutMs,
  });
  if (res.status !== 200) throw new Error(`PATCH ${opts.kind} ${opts.name}: ${describe(res)}`);
  return { patched };
}

function describe(res: { status: number; body: unknown }): string {
  const message = (res.body as { message?: unknown } | undefined)?.message;
  return `HTTP ${res.status}${typeof message === 'string' ? `: ${message}` : ''}`;
}

export interface CaBundleReconciler {
  /** Patches now (and again after failures, with backoff) with this PEM. */
  update(caPem: string): void;
  /** Resolves after the first successful patch (for tests and readiness). */
  synced(): Promise<void>;
  close(): void;
}

/**
 * Keeps a webhook configuration's caBundle equal to the latest PEM given to `update`: patches at
 * once, retries failures with exponential backoff (0.5 s doubling to 30 s), and calls `onError`
 * for each failure. A newer PEM replaces a pending retry. Used by the injector and galley.
 */
export function reconcileWebhookCaBundle(
  kc: KubeConfig,
  opts: Omit<WebhookCaBundleOptions, 'caPem'> & {
    onPatched?: (result: WebhookCaBundleResult) => void;
    onError?: (err: Error) => void;
  },
): CaBundleReconciler {
  let latest: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delay = 500;
  let closed = false;
  let running = false;
  let resolveSynced!: () => void;
  const syncedPromise = new Promise<void>((r) => {
    resolveSynced = r;
  });
  const run = async (): Promise<void> => {
    if (closed || running || latest === undefined) return;
    running = true;
    const pem = latest;
    try {
      const result = await patchWebhookCaBundle(kc, { ...opts, caPem: pem });
      delay = 500;
      opts.onPatched?.(result);
      if (pem === latest) resolveSynced();
    } catch (e) {
      opts.onError?.(e as Error);
      if (!closed && pem === latest) {
        timer = setTimeout(() => void run(), delay);
        delay = Math.min(delay * 2, 30_000);
      }
    } finally {
      running = false;
    }
    if (!closed && pem !== latest) void run();
  };
  return {
    update(caPem) {
      latest = caPem;
      clearTimeout(timer);
      delay = 500;
      void run();
    },
    synced: () => syncedPromise,
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Watches a serving certificate (and optional CA file) and keeps the webhook configuration's
 * caBundle equal to the CA, or to the serving chain when no CA file is given. For services whose
 * webhook server already reloads its own certificate (galley): this only does the registration.
 */
export async function watchWebhookCaBundle(
  kc: KubeConfig,
  opts: Omit<WebhookCaBundleOptions, 'caPem'> & {
    certFile: string;
    keyFile: string;
    caFile?: string;
    logger?: Logger;
  },
): Promise<{ close(): void; reconciler: CaBundleReconciler }> {
  const log = opts.logger;
  const reconciler = reconcileWebhookCaBundle(kc, {
    ...opts,
    onPatched: (r) => {
      if (r.patched.length > 0)
        log?.info({ name: opts.name, webhooks: r.patched }, 'webhook caBundle patched');
    },
    onError: (e) =>
      log?.warn({ name: opts.name, error: e.message }, 'patching the webhook caBundle failed; retrying'),
  });
  const tls = await watchTlsFiles({
    certFile: opts.certFile,
    keyFile: opts.keyFile,
    ...(opts.caFile ? { caFile: opts.caFile } : {}),
    ...(log ? { logger: log } : {}),
    onChange: (m) => reconciler.update(m.ca ?? m.cert),
  });
  const first = tls.current();
  reconciler.update(first.ca ?? first.cert);
  return {
    reconciler,
    close() {
      tls.close();
      reconciler.close();
    },
  };
}
