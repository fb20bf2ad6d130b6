import type { Logger } from '@keel/runtime';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest } from './request.js';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Name of the coordination.k8s.io/v1 Lease. */
  name: string;
  /** This candidate's identity (pod name, usually). */
  identity: string;
  /** A lease not renewed for this long (as observed locally) may be taken over. */
  leaseDurationMs: number;
  /** How often the leader renews and candidates retry. */
  renewMs: number;
  logger?: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

export interface LeaderElection {
  isLeader(): boolean;
  /** Stops campaigning; a leader releases the lease (empty holder) so another can take it at once. */
  stop(options?: { release?: boolean }): Promise<void>;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

/** MicroTime format of the Kubernetes API (RFC 3339 with microseconds). */
const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * Campaigns for a Lease with compare-and-set on resourceVersion (a 409 means another
 * candidate won the race). Callbacks run at most once per term and never overlap.
 */
export function electLeader(opts: LeaderElectionOptions): LeaderElection {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/leases`;
  const leasePath = `${base}/${encodeURIComponent(opts.name)}`;
  let leader = false;
  let stopped = false;
  let lastRenew = 0;
  let observed: { key: string; at: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const setLeader = (value: boolean): void => {
    if (leader === value) return;
    leader = value;
    opts.logger?.info(
      { lease: opts.name, identity: opts.identity },
      value ? 'became leader' : 'lost leadership',
    );
    try {
      if (value) opts.onStartedLeading();
      else opts.onStoppedLeading();
    } catch (err) {
      opts.logger?.error({ err }, 'leader election callback threw');
    }
  };

  const newSpec = (prev: LeaseSpec | undefined, now: Date): LeaseSpec => {
    const takeover = prev?.holderIdentity !== opts.identity;
    return {
      holderIdentity: opts.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(opts.leaseDurationMs / 1000)),
      acquireTime: takeover || !prev?.acquireTime ? microTime(now) : prev.acquireTime,
      renewTime: microTime(now),
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (takeover && prev ? 1 : 0),
    };
  };

  /** One round: read the lease, then create, renew or take it over if allowed. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const now = new Date();
    const got = await kubeRequest(opts.kubeConfig, { method: 'GET', path: leasePath });
    if (got.status === 404) {
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: opts.name, namespace: opts.namespace },
        spec: newSpec(undefined, now),
      };
      const created = await kubeRequest(opts.kubeConfig, { method: 'POST', path: base, body: lease });
      return created.status === 201 || created.status === 200;
    }
    if (got.status !== 200) throw new Error(`get lease: HTTP ${got.status}`);
    const current = got.body as Lease;
    const spec = current.spec ?? {};
    const key = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}`;
    if (!observed || observed.key !== key) observed = { key, at: Date.now() };
    const held = !!spec.holderIdentity && spec.holderIdentity !== opts.identity;
    if (held && Date.now() < observed.at + opts.leaseDurationMs) return false;
    const next: Lease = { ...current, spec: { ...spec, ...newSpec(spec, now) } };
    const put = await kubeRequest(opts.kubeConfig, { method: 'PUT', path: leasePath, body: next });
    if (put.status === 409) return false;
    if (put.status !== 200) throw new Error(`update lease: HTTP ${put.status}`);
    return true;
  };

  const round = async (): Promise<void> => {
    if (stopped) return;
    try {
      const ok = await tryAcquireOrRenew();
      if (stopped) return;
      if (ok) lastRenew = Date.now();
      setLeader(ok);
    } catch (err) {
      opts.logger?.warn({ err: String(err), lease: opts.name }, 'lease round failed');
      if (leader && Date.now() - lastRenew > opts.leaseDurationMs) setLeader(false);
    }
  };

  const loop = (): void => {
    if (stopped) return;
    running = round().then(() => {
      if (!stopped) timer = setTimeout(loop, opts.renewMs);
    });
  };
  loop();

  return {
    isLeader: () => leader,
    stop: async ({ release = true } = {}) => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      if (!leader) return;
      if (release) await releaseLease(opts, leasePath).catch(() => undefined);
      setLeader(false);
    },
  };
}

/** Empties the holder if we still hold the lease (compare-and-set; losing the race is fine). */
async function releaseLease(opts: LeaderElectionOptions, leasePath: string): Promise<void> {
  const got = await kubeRequest(opts.kubeConfig, { method: 'GET', path: leasePath });
  if (got.status !== 200) return;
  const lease = got.body as Lease;
  if (lease.spec?.holderIdentity !== opts.identity) return;
  const released: Lease = {
    ...lease,
    spec: { ...lease.spec, holderIdentity: '', renewTime: microTime(new Date()), leaseDurationSeconds: 1 },
  };
  await kubeRequest(opts.kubeConfig, { method: 'PUT', path: leasePath, body: released });
}
