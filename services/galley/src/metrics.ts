import { Counter, Gauge, type Registry } from 'prom-client';
import type { WebhookMetrics } from './webhook.js';

/** Galley's own metrics, Istio 1.4 names (spec section 2.6). */
export function galleyMetrics(registry: Registry) {
  const validationLabels = ['group', 'version', 'resource'] as const;
  const passed = new Counter({
    name: 'galley_validation_passed',
    help: 'Resources that passed validation',
    labelNames: validationLabels,
    registers: [registry],
  });
  const failed = new Counter({
    name: 'galley_validation_failed',
    help: 'Resources that failed validation',
    labelNames: [...validationLabels, 'reason'] as const,
    registers: [registry],
  });
  const httpError = new Counter({
    name: 'galley_validation_http_error',
    help: 'Webhook requests answered with an HTTP error',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  return {
    webhook: { passed, failed, httpError } satisfies WebhookMetrics,
    passed,
    failed,
    certKeyUpdates: counter('galley_validation_cert_key_updates', 'Webhook certificate reloads'),
    eventsProcessed: counter('galley_runtime_processor_events_processed_total', 'Config events processed'),
    snapshotsPublished: counter(
      'galley_runtime_processor_snapshots_published_total',
      'Snapshots published over MCP',
    ),
    quiesceReached: counter(
      'galley_runtime_strategy_timer_quiesce_reached_total',
      'Snapshots published after the quiet period',
    ),
    maxReached: counter(
      'galley_runtime_strategy_timer_max_time_reached_total',
      'Snapshots published at the maximum wait',
    ),
    timerResets: counter('galley_runtime_strategy_timer_resets_total', 'Debounce timer resets'),
    onChange: counter('galley_runtime_strategy_on_change_total', 'Changes seen by the snapshot strategy'),
    instances: new Gauge({
      name: 'galley_runtime_state_type_instances_total',
      help: 'Resources held per collection',
      labelNames: ['collection'] as const,
      registers: [registry],
    }),
    duplicates: counter(
      'galley_source_duplicate_resources_total',
      'Resources found defined twice (same kind, namespace and name); the first file in path order wins',
    ),
    configDirAvailable: new Gauge({
      name: 'galley_source_fs_dir_available',
      help: '1 while --config-dir can be read, 0 while it is missing or unreadable',
      registers: [registry],
    }),
    kubeEventSuccess: counter('galley_source_kube_event_success_total', 'Kubernetes events handled'),
    kubeEventError: counter(
      'galley_source_kube_event_error_total',
      'Kubernetes events that could not be read',
    ),
  };
}

export type GalleyMetrics = ReturnType<typeof galleyMetrics>;
