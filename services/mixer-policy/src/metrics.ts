// mixer-policy's Prometheus metrics: Mixer 1.4 names (spec section 4.10) plus Keel's check counter.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CacheStats } from './runtime/cache.js';
import type { DispatchObserver } from './runtime/dispatch.js';

export function policyMetrics(registry: Registry, cacheStats: () => CacheStats) {
  const registers = [registry];
  const last = { hits: 0, misses: 0, writes: 0, evictions: 0 };
  const cacheCounter = (name: keyof CacheStats, help: string) =>
    new Counter({
      name: `mixer_checkcache_cache_${name}_total`,
      help,
      registers,
      collect() {
        const now = cacheStats()[name];
        if (now > last[name]) this.inc(now - last[name]);
        last[name] = now;
      },
    });
  cacheCounter('hits', 'Check cache hits');
  cacheCounter('misses', 'Check cache misses');
  cacheCounter('writes', 'Check cache writes');
  cacheCounter('evictions', 'Check cache evictions (expired, used up, or over capacity)');
  const dispatches = new Counter({
    name: 'mixer_runtime_dispatches_total',
    help: 'Adapter dispatches by handler, adapter and whether they failed',
    labelNames: ['handler', 'adapter', 'error'],
    registers,
  });
  const dispatchDuration = new Histogram({
    name: 'mixer_runtime_dispatch_duration_seconds',
    help: 'Adapter dispatch duration',
    labelNames: ['handler', 'adapter', 'error'],
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers,
  });
  const handlerErrors = new Counter({
    name: 'mixer_handler_dispatch_errors_total',
    help: 'Handler dispatches that failed (instance evaluation or adapter error)',
    labelNames: ['handler'],
    registers,
  });
  const matchErrors = new Counter({
    name: 'mixer_runtime_match_errors_total',
    help: 'Rule match expressions that failed to evaluate (the rule did not apply)',
    labelNames: ['rule'],
    registers,
  });
  const config = {
    handlers: new Gauge({ name: 'mixer_config_handler_configs_total', help: 'Handlers in force', registers }),
    instances: new Gauge({
      name: 'mixer_config_instance_configs_total',
      help: 'Instances in force',
      registers,
    }),
    rules: new Gauge({ name: 'mixer_config_rule_configs_total', help: 'Rules in force', registers }),
    attributes: new Gauge({
      name: 'mixer_config_attributes_total',
      help: 'Attributes in the manifests',
      registers,
    }),
    errors: new Gauge({
      name: 'mixer_config_resource_errors_total',
      help: 'Policy resources rejected in the current configuration, by kind',
      labelNames: ['kind'],
      registers,
    }),
  };
  const closedHandlers = new Counter({
    name: 'mixer_handler_closed_handlers_total',
    help: 'Handlers closed after a configuration change',
    registers,
  });
  const checks = new Counter({
    name: 'keel_policy_checks_total',
    help: 'Checks answered, by API, gRPC code name and whether the decision cache answered',
    labelNames: ['api', 'code', 'cache_hit'],
    registers,
  });
  const observer: DispatchObserver = {
    dispatch(handler, adapter, durationS, error) {
      const labels = { handler, adapter, error: String(error) };
      dispatches.inc(labels);
      dispatchDuration.observe(labels, durationS);
      if (error) handlerErrors.inc({ handler });
    },
    matchError(rule) {
      matchErrors.inc({ rule });
    },
  };
  return { observer, config, closedHandlers, checks };
}

export type PolicyMetrics = ReturnType<typeof policyMetrics>;
