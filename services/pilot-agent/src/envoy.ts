// Runs Envoy: the command line of spec section 6, restarts with exponential backoff when it exits,
// drains (admin /drain_listeners) then stops it on shutdown.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '@keel/runtime';

export interface EnvoyOptions {
  binaryPath: string;
  configFile: (epoch: number) => Promise<string>;
  serviceCluster: string;
  serviceNode: string;
  drainDurationMs: number;
  parentShutdownDurationMs: number;
  logLevel: string;
  componentLogLevel: string;
  concurrency: number;
  adminPort: number;
  ipv6: boolean;
  logger: Logger;
  /** First restart delay (default 1 s); doubles up to 30 s, reset after 60 s of uptime. */
  initialBackoffMs?: number;
}

export interface EnvoyRunner {
  start(): Promise<void>;
  /** Drains for `drainMs`, then SIGTERM (SIGKILL after 5 s). */
  stop(drainMs: number): Promise<void>;
  running(): boolean;
  /** Restarts so far. */
  epoch(): number;
}

/** Envoy's arguments for one epoch. */
export function envoyArgs(o: EnvoyOptions, configFile: string, epoch: number): string[] {
  const args = [
    '-c',
    configFile,
    '--restart-epoch',
    String(epoch),
    '--drain-time-s',
    String(Math.round(o.drainDurationMs / 1000)),
    '--parent-shutdown-time-s',
    String(Math.round(o.parentShutdownDurationMs / 1000)),
    '--service-cluster',
    o.serviceCluster,
    '--service-node',
    o.serviceNode,
    '--max-obj-name-len',
    '189',
    '--local-address-ip-version',
    o.ipv6 ? 'v6' : 'v4',
    '--log-format',
    `[Envoy (Epoch ${epoch})] [%Y-%m-%d %T.%e][%t][%l][%n] %v`,
    '-l',
    o.logLevel,
    '--component-log-level',
    o.componentLogLevel,
  ];
  if (o.concurrency > 0) args.push('--concurrency', String(o.concurrency));
  return args;
}

export function createEnvoyRunner(o: EnvoyOptions): EnvoyRunner {
  const log = o.logger;
  let child: ChildProcess | undefined;
  let epoch = 0;
  let stopping = false;
  let backoff = o.initialBackoffMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;

  const launch = async (): Promise<void> => {
    const file = await o.configFile(epoch);
    const started = Date.now();
    const proc = spawn(o.binaryPath, envoyArgs(o, file, epoch), { stdio: ['ignore', 'inherit', 'inherit'] });
    child = proc;
    log.info({ epoch, pid: proc.pid, config: file }, 'envoy started');
    proc.on('error', (e) => log.error({ err: String(e) }, 'envoy failed to start'));
    proc.on('exit', (code, signal) => {
      child = undefined;
      if (stopping) return;
      if (Date.now() - started > 60_000) backoff = o.initialBackoffMs ?? 1000;
      log.warn({ epoch, code, signal, restartInMs: backoff }, 'envoy exited; restarting');
      epoch++;
      timer = setTimeout(
        () => void launch().catch((e) => log.error({ err: e }, 'envoy restart failed')),
        backoff,
      );
      backoff = Math.min(backoff * 2, 30_000);
    });
  };

  return {
    start: launch,
    running: () => child !== undefined,
    epoch: () => epoch,
    async stop(drainMs) {
      stopping = true;
      clearTimeout(timer);
      const proc = child;
      if (!proc) return;
      await fetch(`http://127.0.0.1:${o.adminPort}/drain_listeners?graceful`, {
        method: 'POST',
        signal: AbortSignal.timeout(1000),
      }).catch(() => undefined);
      if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const kill = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}
