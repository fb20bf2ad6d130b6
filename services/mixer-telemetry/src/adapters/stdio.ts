// The stdio adapter (logentry, metric): one log line per instance, JSON when output_as_json.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { HandlerConfig } from '../config/model.js';
import { pick, pickObj, pickString } from '../config/params.js';
import type { CompiledInstance } from '../config/templates.js';
import { logValue } from './format.js';
import type { AdapterContext, AdapterFactory, BuildResult } from './types.js';

const LEVELS = ['info', 'warn', 'error'] as const;
const LEVEL_BY_NAME: Record<string, number> = {
  INFO: 0,
  WARNING: 1,
  ERROR: 2,
  info: 0,
  warning: 1,
  warn: 1,
  error: 2,
};
/** Lines buffered before a write even within one batch. */
const MAX_BUFFERED = 1000;

function levelNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && v >= 0 && v <= 2) return v;
  if (typeof v === 'string') return LEVEL_BY_NAME[v];
  return undefined;
}

function build(h: HandlerConfig, _instances: readonly CompiledInstance[], ctx: AdapterContext): BuildResult {
  const p = h.params;
  const stream = (pickString(p, 'logStream') ?? 'STDOUT').toUpperCase();
  let out: Writable;
  let owned: WriteStream | undefined;
  if (stream === 'STDOUT') out = ctx.stdout;
  else if (stream === 'STDERR') out = ctx.stderr;
  else if (stream === 'FILE' || stream === 'ROTATED_FILE') {
    const path = pickString(p, 'outputPath');
    if (!path) return { ok: false, errors: `log_stream ${stream} needs output_path` };
    owned = createWriteStream(path, { flags: 'a' });
    owned.on('error', (e) => ctx.logger.error({ err: e, handler: h.fqn }, 'stdio output file failed'));
    out = owned;
  } else return { ok: false, errors: `log_stream '${stream}' must be STDOUT, STDERR, FILE or ROTATED_FILE` };
  const severities = new Map<string, number>();
  for (const [k, v] of Object.entries(pickObj(p, 'severityLevels') ?? {})) {
    const n = levelNumber(v);
    if (n === undefined)
      return { ok: false, errors: `severity_levels.${k}: level must be INFO, WARNING or ERROR (0..2)` };
    severities.set(k, n);
  }
  const metricLevel = levelNumber(pick(p, 'metricLevel') ?? 0) ?? 0;
  const asJson = pick(p, 'outputAsJson') !== false;
  const minLevel = levelNumber(pick(p, 'outputLevel') ?? 0) ?? 0;
  let lines: string[] = [];
  const write = (rec: Record<string, unknown>, level: number) => {
    if (level < minLevel) return;
    if (asJson) lines.push(JSON.stringify(rec));
    else {
      const { level: l, time, instance, ...rest } = rec;
      const kv = Object.entries(rest).map(
        ([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`,
      );
      lines.push([time, l, instance, ...kv].join('\t'));
    }
    if (lines.length >= MAX_BUFFERED) flush();
  };
  const flush = () => {
    if (lines.length === 0) return;
    out.write(`${lines.join('\n')}\n`);
    lines = [];
  };
  return {
    ok: true,
    value: {
      fqn: h.fqn,
      handle(inst) {
        if (inst.template === 'logentry') {
          const level = severities.get(inst.level) ?? levelNumber(inst.level) ?? 0;
          const rec: Record<string, unknown> = {
            level: LEVELS[level],
            time: inst.time.toISOString(),
            instance: inst.fqn,
          };
          for (let i = 0; i < inst.varNames.length; i++) {
            const v = logValue(inst.varValues[i]);
            if (v !== undefined) rec[inst.varNames[i]!] = v;
          }
          write(rec, level);
        } else if (inst.template === 'metric') {
          const rec: Record<string, unknown> = {
            level: LEVELS[metricLevel],
            time: new Date().toISOString(),
            instance: inst.fqn,
            value: inst.num,
          };
          for (let i = 0; i < inst.dimNames.length; i++) rec[inst.dimNames[i]!] = inst.dimValues[i];
          write(rec, metricLevel);
        }
      },
      flush,
      close() {
        flush();
        owned?.end();
      },
    },
  };
}

export const stdioAdapter: AdapterFactory = { templates: new Set(['logentry', 'metric']), build };
