// mixer-telemetry self-metrics on the monitoring port (Istio 1.4 names, spec 4.10, where one exists).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AlsStats } from './als/server.js';
import type { PromStore } from './prom/store.js';
import type { Runtime } from './runtime.js';

export interface SelfMetricsSources {
  runtime: () => Runtime;
  als: () => AlsStats | undefined;
  prom: PromStore;
  configErrors: () => { rule: number; instance: number; handler: number };
  reports: () => { requests: number; bags: number; errors: number };
}

/** Registers collectors that read the live counters at scrape time (nothing on the hot path). */
export function registerSelfMetrics(registry: Registry, src: SelfMetricsSources): void {
  let seen = { entries: 0, dispatches: 0, instanceErrors: 0 };
  let seenRuntime: Runtime | undefined;
  const dispatches = new Counter({
    name: 'mixer_runtime_dispatches_total',
    help: 'Instances dispatched to handlers',
    registers: [registry],
    collect() {
      const rt = src.runtime();
      if (rt !== seenRuntime) {
        seenRuntime = rt;
        seen = { entries: 0, dispatches: 0, instanceErrors: 0 };
      }
      const d = rt.stats.dispatches - seen.dispatches;
      if (d > 0) this.inc(d);
      const e = rt.stats.entries - seen.entries;
      if (e > 0) entries.inc(e);
      const ie = rt.stats.instanceErrors - seen.instanceErrors;
      if (ie > 0) instanceErrors.inc(ie);
      seen = {
        entries: rt.stats.entries,
        dispatches: rt.stats.dispatches,
        instanceErrors: rt.stats.instanceErrors,
      };
    },
  });
  void dispatches;
  const entries = new Counter({
    name: 'mixer_runtime_report_entries_total',
    help: 'Attribute bags dispatched to report rules',
    registers: [registry],
  });
  const instanceErrors = new Counter({
    name: 'mixer_runtime_instance_errors_total',
    help: 'Instances that could not be built from an entry (absent attribute without default)',
    registers: [registry],
  });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge('mixer_config_rule_configs_total', 'Rules in the running config', () => src.runtime().counts.rules);
  gauge(
    'mixer_config_instance_configs_total',
    'Report instances in the running config',
    () => src.runtime().counts.instances,
  );
  gauge(
    'mixer_config_handler_configs_total',
    'Handlers in the running config',
    () => src.runtime().counts.handlers,
  );
  gauge(
    'mixer_config_rule_config_errors_total',
    'Rules rejected or partly rejected',
    () => src.configErrors().rule,
  );
  gauge('mixer_config_instance_config_errors_total', 'Instances rejected', () => src.configErrors().instance);
  gauge('mixer_config_handler_config_errors_total', 'Handlers rejected', () => src.configErrors().handler);
  gauge('mixer_prometheus_series', 'Series held by the prometheus adapter (served on --metrics-port)', () =>
    src.prom.seriesCount(),
  );
  gauge(
    'mixer_prometheus_series_dropped',
    'Values dropped because their metric held the maximum series',
    () => src.prom.droppedCount(),
  );
  gauge('keel_mixer_accesslog_streams_total', 'Access-log streams accepted', () => src.als()?.streams ?? 0);
  gauge(
    'keel_mixer_accesslog_rejected_streams_total',
    'Access-log streams closed for a malformed message',
    () => src.als()?.rejectedStreams ?? 0,
  );
  new Gauge({
    name: 'keel_mixer_accesslog_entries_total',
    help: 'Access-log entries received, by protocol',
    labelNames: ['protocol'],
    registers: [registry],
    collect() {
      const s = src.als();
      this.set({ protocol: 'http' }, s?.httpEntries ?? 0);
      this.set({ protocol: 'tcp' }, s?.tcpEntries ?? 0);
    },
  });
  gauge(
    'keel_mixer_report_requests_total',
    'istio.mixer.v1.Mixer/Report calls',
    () => src.reports().requests,
  );
  gauge('keel_mixer_report_errors_total', 'Report calls refused', () => src.reports().errors);
}
