// Locality load balancing (`localityLbSetting`, Istio 1.4): distribute weights or failover priorities
// on a ClusterLoadAssignment's locality groups, relative to the calling proxy's locality. Pure.
import type { Locality, LocalityLbSetting, Proxy as MeshProxy, PushContext } from '../model/types.js';
import { policyForPort } from './clusters.js';

type Obj = Record<string, any>;
type Group = Record<string, any>;

const groupLocality = (g: Group): Locality => ({
  region: g.locality?.region ?? '',
  zone: g.locality?.zone ?? '',
  subzone: g.locality?.sub_zone ?? '',
});

/** `region/zone/subzone` with `*` matching the rest (Istio util.LocalityMatch). */
export function localityMatch(l: Locality, rule: string | undefined): boolean {
  if (!rule) return false;
  const parts = rule.split('/');
  const have = [l.region, l.zone, l.subzone];
  for (let i = 0; i < parts.length && i < 3; i++) {
    if (parts[i] === '*') return true;
    if (parts[i] !== have[i]) return false;
  }
  return true;
}

/** 0 same subzone, 1 same zone, 2 same region, 3 other region (Istio LbPriority). */
function lbPriority(proxy: Locality, ep: Locality): number {
  if (proxy.region !== ep.region) return 3;
  if (proxy.zone !== ep.zone) return 2;
  return proxy.subzone === ep.subzone ? 0 : 1;
}

/** `distribute`: the first rule whose `from` matches sets group weights; unmatched groups get no traffic. */
function applyDistribute(groups: Group[], proxy: Locality, setting: LocalityLbSetting): Group[] | undefined {
  const rule = (setting.distribute ?? []).find((d) => localityMatch(proxy, d.from));
  if (!rule) return undefined;
  const weights = new Map<number, number>();
  const unmatched = new Set(groups.map((_, i) => i));
  for (const [to, weight] of Object.entries(rule.to ?? {})) {
    const hit = [...unmatched].filter((i) => localityMatch(groupLocality(groups[i]!), to));
    const total = hit.reduce((s, i) => s + (groups[i]!.load_balancing_weight?.value ?? 1), 0);
    for (const i of hit) {
      unmatched.delete(i);
      const own = groups[i]!.load_balancing_weight?.value ?? 1;
      weights.set(i, Math.ceil((own * Number(weight)) / total));
    }
  }
  // A weight of 0 takes the locality out (gRPC clients need a positive weight on every group).
  return groups.flatMap((g, i) => {
    const w = weights.get(i);
    return w && w > 0 ? [{ ...g, load_balancing_weight: { value: w } }] : [];
  });
}

/** Failover: priorities by locality closeness, `failover` rules naming the next region; no gaps. */
function applyFailover(groups: Group[], proxy: Locality, setting: LocalityLbSetting): Group[] {
  const prio = groups.map((g) => {
    const l = groupLocality(g);
    let p = lbPriority(proxy, l);
    if (p === 3) {
      const rule = (setting.failover ?? []).find((f) => f.from === proxy.region);
      if (rule && l.region !== rule.to) p = 4;
    }
    return p;
  });
  const used = [...new Set(prio)].sort((a, b) => a - b);
  return groups.map((g, i) => {
    const priority = used.indexOf(prio[i]!);
    return priority > 0 ? { ...g, priority } : g;
  });
}

/**
 * The setting in force for a cluster with port-narrowed policies `top` (DestinationRule) and `own`
 * (its subset): the subset's `loadBalancer.localityLbSetting`, the rule's, else the mesh's.
 */
export function localityLbSettingFor(
  push: PushContext,
  top: Obj | undefined,
  own: Obj | undefined,
): LocalityLbSetting | undefined {
  const policy = own?.loadBalancer ? own : top;
  const s =
    (policy?.loadBalancer?.localityLbSetting as LocalityLbSetting | undefined) ?? push.mesh.localityLbSetting;
  return s && s.enabled !== false ? s : undefined;
}

/**
 * Applies locality LB to the groups of an outbound cluster of `host:port` (subset `subset`) as seen
 * by `proxy`. Failover priorities need outlier detection on the cluster (without it nothing would
 * ever mark the local endpoints unhealthy, Istio 1.4's rule).
 */
export function applyLocalityLb(
  push: PushContext,
  proxy: MeshProxy,
  host: string,
  port: number,
  subset: string,
  groups: Group[],
): Group[] {
  const l = proxy.locality;
  if (groups.length === 0 || (!l.region && !l.zone && !l.subzone)) return groups;
  const service = push.serviceByHost.get(host);
  const servicePort = service?.ports.find((p) => p.port === port);
  if (!servicePort) return groups;
  const dr = push.sidecarScope(proxy).destinationRule(host);
  const top = policyForPort(dr?.spec.trafficPolicy as Obj | undefined, servicePort);
  const sub = ((dr?.spec.subsets ?? []) as Obj[]).find((s) => subset && s.name === subset);
  const own = policyForPort(sub?.trafficPolicy as Obj | undefined, servicePort);
  const setting = localityLbSettingFor(push, top, own);
  if (!setting) return groups;
  if ((setting.distribute ?? []).length > 0) return applyDistribute(groups, l, setting) ?? groups;
  const outlier = own?.outlierDetection ?? top?.outlierDetection;
  return outlier ? applyFailover(groups, l, setting) : groups;
}

const inUse = new WeakMap<PushContext, boolean>();

/** True when the mesh or any DestinationRule sets `localityLbSetting` (EDS then depends on locality). */
function localityLbInUse(push: PushContext): boolean {
  let found = inUse.get(push);
  if (found !== undefined) return found;
  found =
    push.mesh.localityLbSetting !== undefined ||
    push.configs('DestinationRule').some((dr) => JSON.stringify(dr.spec).includes('"localityLbSetting"'));
  inUse.set(push, found);
  return found;
}

/** The part of a proxy's config key locality LB adds: its locality when locality LB is configured, else ''. */
export function localityKeyPart(push: PushContext, proxy: MeshProxy): string {
  if (!localityLbInUse(push)) return '';
  const l = proxy.locality;
  return `${l.region}/${l.zone}/${l.subzone}`;
}
