import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from './paths.js';

/**
 * Debian's interpreter: it sees the `python3-grpcio` package (gRPC C-core with xDS built in); the
 * `python3` on PATH may be another build that does not.
 */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** The driver script (libs/testing/python/xds_client.py). */
export function ccoreDriverPath(): string {
  return path.join(repoRoot(), 'libs', 'testing', 'python', 'xds_client.py');
}

/** True when /usr/bin/python3 exists (scripts/bootstrap.sh installs python3-grpcio next to it). */
export function ccoreAvailable(): boolean {
  return existsSync(SYSTEM_PYTHON);
}

export type CcoreCallResult =
  | { ok: true; server: string; message: string }
  | { ok: false; code: number; codeName: string; details: string };

export interface CcoreClientOptions {
  /** The xDS bootstrap JSON (written to a file named by GRPC_XDS_BOOTSTRAP). */
  bootstrap: string;
  /** Default target, e.g. `xds:///reviews.default.svc.cluster.local:9080`. */
  target: string;
  /** Extra environment, e.g. { GRPC_VERBOSITY: 'debug', GRPC_TRACE: 'xds_client' }. */
  env?: Record<string, string>;
}

export interface CcoreClient {
  /** One unary Echo call on the long-lived channel of `target` (default: the client's target). */
  call(opts?: {
    metadata?: Record<string, string>;
    timeoutMs?: number;
    target?: string;
    message?: string;
  }): Promise<CcoreCallResult>;
  /** The channel's connectivity state (IDLE, CONNECTING, READY, TRANSIENT_FAILURE). */
  state(target?: string): Promise<string>;
  /** The driver's stderr so far (gRPC's own logs when GRPC_VERBOSITY/GRPC_TRACE are set). */
  stderr(): string[];
  close(): Promise<void>;
}

/**
 * Starts a gRPC C-core xDS client (Python driver over python3-grpcio) that stays up until `close`:
 * requests go to its stdin as JSON lines and results come back line by line.
 */
export async function startCcoreClient(opts: CcoreClientOptions): Promise<CcoreClient> {
  const dir = await mkdtemp(path.join(tmpdir(), 'keel-ccore-'));
  const bootstrapFile = path.join(dir, 'bootstrap.json');
  await writeFile(bootstrapFile, opts.bootstrap);
  const proc: ChildProcess = spawn(SYSTEM_PYTHON, ['-u', ccoreDriverPath()], {
    env: { ...process.env, ...opts.env, GRPC_XDS_BOOTSTRAP: bootstrapFile },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const errLines: string[] = [];
  const pending = new Map<number, (reply: Record<string, unknown>) => void>();
  let nextId = 0;
  let exited = false;
  let onReady: (v: Record<string, unknown>) => void = () => {};
  const ready = new Promise<Record<string, unknown>>((resolve) => {
    onReady = resolve;
  });
  const exit = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  void exit.then(() => {
    exited = true;
    for (const r of pending.values())
      r({ error: `driver exited; stderr: ${errLines.slice(-5).join(' | ')}` });
    pending.clear();
  });
  createInterface({ input: proc.stderr! }).on('line', (l) => {
    if (errLines.length < 5000) errLines.push(l);
  });
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (msg.ready) return onReady(msg);
    const id = typeof msg.id === 'number' ? msg.id : -1;
    const r = pending.get(id);
    pending.delete(id);
    r?.(msg);
  });
  const startTimeout = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  const started = await Promise.race([ready, exit.then(() => undefined)]);
  clearTimeout(startTimeout);
  if (!started) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`C-core xDS client did not start: ${errLines.slice(-10).join('\n')}`);
  }

  const request = (req: Record<string, unknown>): Promise<Record<string, unknown>> => {
    if (exited) return Promise.resolve({ error: 'driver exited' });
    const id = ++nextId;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      proc.stdin!.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  };

  return {
    async call(o = {}) {
      const reply = await request({
        op: 'call',
        target: o.target ?? opts.target,
        message: o.message ?? 'hello',
        metadata: o.metadata ?? {},
        timeout: (o.timeoutMs ?? 5000) / 1000,
      });
      if (typeof reply.error === 'string')
        return { ok: false, code: 2, codeName: 'UNKNOWN', details: reply.error };
      return reply as unknown as CcoreCallResult;
    },
    async state(target) {
      const reply = await request({ op: 'state', target: target ?? opts.target });
      return String(reply.state ?? reply.error);
    },
    stderr: () => errLines,
    async close() {
      if (!exited) {
        proc.stdin!.write('{"op":"quit"}\n');
        proc.stdin!.end();
        const killer = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exit;
        clearTimeout(killer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
