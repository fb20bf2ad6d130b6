import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { freePort } from './ports.js';
import { type RunningProcess, startProcess } from './process.js';
import { type TempDir, tempDir } from './tmp.js';

export interface NatsOptions {
  /** Enable JetStream (needed for KV); default true. */
  jetstream?: boolean;
  /** How long to wait for "Server is ready" (default 10000 ms). */
  timeoutMs?: number;
}

export interface NatsServer {
  url: string;
  port: number;
  /** Kills the server, awaits its exit, removes its store dir. */
  stop(): Promise<void>;
  /**
   * Stops and starts again on the same port with the same store (for reconnect tests); `whileDown`
   * runs between the two.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

/** The nats-server binary: first on PATH, then the Debian location. */
export function findNatsServer(): string {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const candidates = [...dirs.map((d) => path.join(d, 'nats-server')), '/usr/sbin/nats-server'];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    'nats-server not found on PATH or at /usr/sbin/nats-server (apt-get install -y nats-server)',
  );
}

function spawnNats(bin: string, port: number, dir: string, options: NatsOptions): Promise<RunningProcess> {
  const args = ['-a', '127.0.0.1', '-p', String(port), '-sd', dir];
  if (options.jetstream !== false) args.unshift('-js');
  return startProcess(bin, args, { readyLine: /Server is ready/, timeoutMs: options.timeoutMs ?? 10000 });
}

/** Starts a private nats-server on a free loopback port; resolves once it logs "Server is ready". */
export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  const store: TempDir = await tempDir('nats');
  let port = 0;
  let proc: RunningProcess | undefined;
  let lastError: unknown;
  // freePort can race with another process grabbing the port: retry with a fresh one.
  for (let attempt = 0; attempt < 3 && proc === undefined; attempt++) {
    port = await freePort();
    try {
      proc = await spawnNats(bin, port, store.path, options);
    } catch (err) {
      lastError = err;
    }
  }
  if (proc === undefined) {
    await store.cleanup();
    throw lastError;
  }
  let current: RunningProcess | undefined = proc;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    async stop() {
      await current?.stop();
      current = undefined;
      await store.cleanup();
    },
    async restart(whileDown?: () => Promise<void>) {
      await current?.stop();
      current = undefined;
      await whileDown?.();
      current = await spawnNats(bin, port, store.path, options);
    },
  };
}
