import { type Logger, silentLogger } from './logger.js';

export type ShutdownHook = () => void | Promise<void>;

export interface ShutdownOptions {
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /** Called once hooks finish or the deadline passes: 0 if all hooks succeeded, else 1. */
  exit?: (code: number) => void;
  /** Hooks still running after this are abandoned (default 10000 ms). */
  deadlineMs?: number;
  logger?: Logger;
}

export interface Shutdown {
  /** Registers a hook; hooks run in reverse registration order. Returns a remover. */
  onShutdown(fn: ShutdownHook): () => void;
  /** Runs the hooks (once; later calls return the same promise), then calls exit. */
  run(reason?: string): Promise<void>;
  /** Stops listening for the signals. */
  dispose(): void;
}

async function runHooks(hooks: ShutdownHook[], logger: Logger): Promise<boolean> {
  let clean = true;
  for (const hook of [...hooks].reverse()) {
    try {
      await hook();
    } catch (e) {
      clean = false;
      logger.error({ err: e }, 'shutdown hook failed');
    }
  }
  return clean;
}

/** A shutdown coordinator listening for `signals`; the first signal runs the hooks. */
export function createShutdown(options: ShutdownOptions = {}): Shutdown {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const deadlineMs = options.deadlineMs ?? 10_000;
  const logger = options.logger ?? silentLogger;
  const hooks: ShutdownHook[] = [];
  let running: Promise<void> | undefined;

  const run = (reason = 'requested'): Promise<void> => {
    running ??= (async () => {
      logger.info({ reason }, 'shutting down');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), deadlineMs);
      });
      const outcome = await Promise.race([runHooks(hooks, logger), deadline]);
      clearTimeout(timer);
      if (outcome === 'deadline') logger.error({ deadlineMs }, 'shutdown deadline passed');
      exit(outcome === true ? 0 : 1);
    })();
    return running;
  };
  const onSignal = (signal: NodeJS.Signals) => void run(signal);
  for (const s of signals) process.on(s, onSignal);

  return {
    onShutdown(fn) {
      hooks.push(fn);
      return () => {
        const i = hooks.indexOf(fn);
        if (i >= 0) hooks.splice(i, 1);
      };
    },
    run,
    dispose() {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}

let processShutdown: Shutdown | undefined;

/** Registers `fn` with the process-wide coordinator (created on first use, SIGTERM/SIGINT). */
export function onShutdown(fn: ShutdownHook): () => void {
  processShutdown ??= createShutdown({ logger: silentLogger });
  return processShutdown.onShutdown(fn);
}

/** Creates the process-wide coordinator with these options; returns the existing one if already made. */
export function configureShutdown(options: Omit<ShutdownOptions, 'exit' | 'signals'>): Shutdown {
  processShutdown ??= createShutdown(options);
  return processShutdown;
}
