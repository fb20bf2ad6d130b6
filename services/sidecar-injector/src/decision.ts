import type { InjectConfig } from './config.js';
import { selectorMatches } from './selector.js';

/** Namespaces the webhook never injects into. */
export const IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public'];

export interface InjectionDecision {
  inject: boolean;
  /** Why, for logs and the skip metric. */
  reason: string;
}

interface PodView {
  metadata?: { namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { hostNetwork?: boolean };
}

/**
 * Istio 1.4's `injectRequired`: hostNetwork and the system namespaces are never injected; the
 * `sidecar.istio.io/inject` annotation (y|yes|true|on injects, any other value does not) wins over
 * the default path, which is neverInjectSelector, then alwaysInjectSelector, then the policy.
 */
export function injectRequired(config: InjectConfig, pod: PodView, namespace: string): InjectionDecision {
  if (pod.spec?.hostNetwork === true) return { inject: false, reason: 'hostNetwork' };
  if (IGNORED_NAMESPACES.includes(namespace)) return { inject: false, reason: `namespace ${namespace}` };
  const value = (pod.metadata?.annotations?.['sidecar.istio.io/inject'] ?? '').toLowerCase();
  if (value !== '') {
    const yes = ['y', 'yes', 'true', 'on'].includes(value);
    return { inject: yes, reason: `annotation sidecar.istio.io/inject=${value}` };
  }
  const labels = pod.metadata?.labels ?? {};
  if (config.neverInjectSelector.some((s) => selectorMatches(s, labels))) {
    return { inject: false, reason: 'neverInjectSelector' };
  }
  if (config.alwaysInjectSelector.some((s) => selectorMatches(s, labels))) {
    return { inject: true, reason: 'alwaysInjectSelector' };
  }
  return { inject: config.policy === 'enabled', reason: `policy ${config.policy}` };
}
