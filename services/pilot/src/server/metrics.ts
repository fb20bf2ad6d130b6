// Pilot's Prometheus metrics (spec section 1.8 names), registered on the service registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface PilotMetrics {
  xdsClients: Gauge;
  pushes: Counter<'type'>;
  pushTime: Histogram<'type'>;
  convergence: Histogram;
  rejects: Record<'cds' | 'eds' | 'lds' | 'rds', Gauge<'node' | 'err'>>;
  totalRejects: Counter;
  writeTimeouts: Gauge;
  services: Gauge;
  virtualServices: Gauge;
  inboundUpdates: Counter<'type'>;
  pushContextErrors: Counter;
  inconsistent: Counter;
  invalidNodes: Counter;
  envoyRulesRejected: Counter<'type' | 'action'>;
  clientDegraded: Counter<'client' | 'type' | 'feature'>;
  info: Gauge<'version'>;
}

/** Creates and registers every pilot_* metric on `registry`. */
export function pilotMetrics(
  registry: Registry,
  version: string,
  writeTimeouts: () => number = () => 0,
): PilotMetrics {
  const registers = [registry];
  const reject = (type: string) =>
    new Gauge({
      name: `pilot_xds_${type}_reject`,
      help: `Pilot rejected ${type.toUpperCase()} configs (NACKs), by node and error`,
      labelNames: ['node', 'err'] as const,
      registers,
    });
  const m: PilotMetrics = {
    xdsClients: new Gauge({ name: 'pilot_xds', help: 'Number of connected xDS clients', registers }),
    pushes: new Counter({
      name: 'pilot_xds_pushes',
      help: 'Pilot build and send errors for lds, rds, cds and eds, and successful pushes',
      labelNames: ['type'] as const,
      registers,
    }),
    pushTime: new Histogram({
      name: 'pilot_xds_push_time',
      help: 'Seconds from snapshot publication to a response of that type being written',
      labelNames: ['type'] as const,
      buckets: [0.01, 0.1, 1, 3, 5, 10, 20, 30],
      registers,
    }),
    convergence: new Histogram({
      name: 'pilot_proxy_convergence_time',
      help: 'Seconds from the first change of a push to the proxy snapshot being set',
      buckets: [0.1, 0.5, 1, 3, 5, 10, 20, 30],
      registers,
    }),
    rejects: { cds: reject('cds'), eds: reject('eds'), lds: reject('lds'), rds: reject('rds') },
    totalRejects: new Counter({ name: 'pilot_total_xds_rejects', help: 'Total xDS NACKs', registers }),
    writeTimeouts: new Gauge({
      name: 'pilot_xds_write_timeout',
      help: 'xDS streams closed because a response did not drain in time',
      registers,
      collect() {
        this.set(writeTimeouts());
      },
    }),
    services: new Gauge({ name: 'pilot_services', help: 'Total services known to pilot', registers }),
    virtualServices: new Gauge({
      name: 'pilot_virt_services',
      help: 'Total virtual services known to pilot',
      registers,
    }),
    inboundUpdates: new Counter({
      name: 'pilot_inbound_updates',
      help: 'Total number of updates received by pilot',
      labelNames: ['type'] as const,
      registers,
    }),
    pushContextErrors: new Counter({
      name: 'pilot_xds_push_context_errors',
      help: 'Push contexts that failed to build',
      registers,
    }),
    inconsistent: new Counter({
      name: 'pilot_xds_inconsistent_snapshots',
      help: 'Builds not published because a listener or cluster names a missing RDS or EDS resource',
      registers,
    }),
    invalidNodes: new Counter({
      name: 'pilot_xds_invalid_nodes',
      help: 'xDS streams refused because their node did not parse',
      registers,
    }),
    envoyRulesRejected: new Counter({
      name: 'pilot_xds_envoy_rules_rejected',
      help: 'Generated config parts Envoy would reject, repaired or left out before sending (by resource type and action)',
      labelNames: ['type', 'action'] as const,
      registers,
    }),
    clientDegraded: new Counter({
      name: 'pilot_xds_client_degraded',
      help: 'Config served to a proxyless client in a weaker, documented form (once per resource; docs/clients.md)',
      labelNames: ['client', 'type', 'feature'] as const,
      registers,
    }),
    info: new Gauge({
      name: 'pilot_info',
      help: 'Pilot version and build information',
      labelNames: ['version'] as const,
      registers,
    }),
  };
  m.info.set({ version }, 1);
  return m;
}
