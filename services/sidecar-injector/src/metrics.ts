import { Counter, type Registry } from 'prom-client';

/** Istio 1.4's injector counters (`sidecar_injection_*`), plus HTTP errors by status. */
export function injectorMetrics(registry: Registry) {
  const c = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  return {
    requests: c('sidecar_injection_requests_total', 'Total number of sidecar injection requests.'),
    success: c('sidecar_injection_success_total', 'Total number of successful sidecar injection requests.'),
    failure: c('sidecar_injection_failure_total', 'Total number of failed sidecar injection requests.'),
    skip: c('sidecar_injection_skip_total', 'Total number of skipped sidecar injection requests.'),
    httpError: new Counter({
      name: 'sidecar_injection_http_errors_total',
      help: 'Webhook requests answered with an HTTP error status (400, 405, 413, 415).',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    configReloads: c(
      'sidecar_injection_config_reloads_total',
      'Template, values or mesh config reloads applied.',
    ),
    certReloads: c('sidecar_injection_cert_reloads_total', 'Serving certificate reloads applied.'),
  };
}

export type InjectorMetrics = ReturnType<typeof injectorMetrics>;
