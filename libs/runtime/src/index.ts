export {
  type DebounceOptions,
  Debouncer,
  type DebounceStats,
  realTimers,
  type Timers,
} from './debounce.js';
export {
  checkIstioDuration,
  formatProtoDuration,
  type Nanos,
  parseConfigDuration,
  parseDuration,
  parseGoDuration,
  protoDurationOf,
  toProtoDuration,
} from './duration.js';
export {
  defineFlags,
  envName,
  type FlagDef,
  type FlagErrors,
  type FlagSpec,
  type FlagValues,
  parseFlags,
  parseFlagsOrExit,
  usage,
} from './flags.js';
export {
  capText,
  createLogger,
  LOG_FIELD_MAX,
  type Logger,
  type LoggerOptions,
  silentLogger,
} from './logger.js';
export {
  createMonitoringServer,
  type MonitoringOptions,
  type MonitoringServer,
  newRegistry,
} from './monitoring.js';
export { err, ok, type Result } from './result.js';
export {
  configureShutdown,
  createShutdown,
  onShutdown,
  type Shutdown,
  type ShutdownHook,
  type ShutdownOptions,
} from './shutdown.js';
export {
  loadTlsFiles,
  type TlsMaterial,
  type TlsWatcher,
  type WatchTlsOptions,
  watchTlsFiles,
} from './tls.js';
export { initTracing, type Tracing, type TracingOptions, tracesUrl } from './tracing.js';
export { type TreeWatcher, type TreeWatchOptions, watchTree } from './watch-tree.js';
