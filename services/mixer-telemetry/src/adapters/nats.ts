// Keel's `natslog` adapter (logentry): each entry published on keel.accesslog, which the
// KEEL_ACCESSLOG JetStream stream captures. Istio 1.4 had no NATS adapter; this replaces fluentd.
import { type AccessLogEntry, Subjects } from '@keel/bus';
import type { HandlerConfig } from '../config/model.js';
import type { CompiledInstance } from '../config/templates.js';
import { logValue } from './format.js';
import type { AdapterContext, AdapterFactory, BuildResult } from './types.js';

export const ACCESSLOG_STREAM = 'KEEL_ACCESSLOG';

function build(h: HandlerConfig, _instances: readonly CompiledInstance[], ctx: AdapterContext): BuildResult {
  let dropped = 0;
  return {
    ok: true,
    value: {
      fqn: h.fqn,
      handle(inst) {
        if (inst.template !== 'logentry') return;
        const bus = ctx.bus();
        if (!bus) {
          if (dropped++ % 1000 === 0)
            ctx.logger.warn({ handler: h.fqn, dropped }, 'natslog: NATS not connected, entry dropped');
          return;
        }
        const entry: AccessLogEntry = {
          time: inst.time.toISOString(),
          instance: inst.fqn,
          severity: inst.level,
        };
        for (let i = 0; i < inst.varNames.length; i++) {
          const v = logValue(inst.varValues[i]);
          if (v !== undefined) entry[inst.varNames[i]!] = v;
        }
        bus.publish(Subjects.accessLog, entry);
      },
      flush() {},
      close() {},
    },
  };
}

export const natsLogAdapter: AdapterFactory = { templates: new Set(['logentry']), build };
