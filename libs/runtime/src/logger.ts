import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** Minimum level; defaults to $KEEL_LOG_LEVEL or `info`. */
  level?: string;
  /** Where JSON lines go; defaults to stdout. Tests pass a stream to capture. */
  destination?: DestinationStream;
}

/** A structured JSON logger for one service or library, tagged with `component`. */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.KEEL_LOG_LEVEL ?? 'info';
  return pino({ level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime }, options.destination);
}

/** A logger that drops everything: the default for libraries used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
