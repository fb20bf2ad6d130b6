import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** Minimum level; defaults to $KEEL_LOG_LEVEL or `info`. */
  level?: string;
  /** Where JSON lines go; defaults to stdout. Tests pass a stream to capture. */
  destination?: DestinationStream;
  /** Longest string kept in any logged field or message (default LOG_FIELD_MAX). */
  maxFieldLength?: number;
}

/**
 * Longest string a log line keeps of any one field: logs echo input (node ids, file contents, error
 * details) and a client or file must not be able to write megabytes into one line.
 */
export const LOG_FIELD_MAX = 300;

/** `text` cut to `max` characters, saying how much was left out. */
export function capText(text: string, max = LOG_FIELD_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max)}...(${text.length - max} more chars)`;
}

/** Caps strings in a log object: top-level fields, and one level into objects and arrays (e.g. `err`). */
function capFields(obj: Record<string, unknown>, max: number, depth = 0): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(obj)) {
    let capped: unknown = v;
    if (typeof v === 'string') capped = v.length > max ? capText(v, max) : v;
    else if (depth < 2 && v !== null && typeof v === 'object') {
      if (v instanceof Error)
        capped = { type: v.name, message: capText(v.message, max), stack: capText(v.stack ?? '', 4 * max) };
      else if (Array.isArray(v))
        capped =
          v.length > 20 || v.some((x) => typeof x === 'string' && x.length > max)
            ? v.slice(0, 20).map((x) => (typeof x === 'string' ? capText(x, max) : x))
            : v;
      else capped = capFields(v as Record<string, unknown>, max, depth + 1);
    }
    if (capped !== v) {
      out ??= { ...obj };
      out[k] = capped;
    }
  }
  return out ?? obj;
}

/** A structured JSON logger for one service or library, tagged with `component`. */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.KEEL_LOG_LEVEL ?? 'info';
  const max = options.maxFieldLength ?? LOG_FIELD_MAX;
  return pino(
    {
      level,
      base: { component },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (obj) => capFields(obj, max) },
      hooks: {
        logMethod(args, method) {
          const capped = args.map((a) => (typeof a === 'string' ? capText(a, max) : a));
          return method.apply(this, capped as Parameters<typeof method>);
        },
      },
    },
    options.destination,
  );
}

/** A logger that drops everything: the default for libraries used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
