import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SYSTEM_PYTHON } from './ccore.js';
import { repoRoot } from './paths.js';

export interface CcoreServerOptions {
  /** The xDS bootstrap JSON; it needs `server_listener_resource_name_template`. */
  bootstrap: string;
  /** `IP:PORT` to bind; the Listener the server asks for is named after it. */
  address: string;
  /** Returned as the Echo reply's `server` field. */
  name: string;
  env?: Record<string, string>;
}

export interface CcoreServer {
  /** The driver's stderr so far (gRPC logs when GRPC_VERBOSITY/GRPC_TRACE are set). */
  stderr(): string[];
  close(): Promise<void>;
}

/**
 * Starts a gRPC C-core xDS server (libs/testing/python/xds_server.py) serving Echo on `address`
 * under whatever Listener the control plane sends it. Resolves once the server has started; it
 * serves only after its Listener arrives (callers observe that through calls).
 */
export async function startCcoreServer(opts: CcoreServerOptions): Promise<CcoreServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'keel-ccore-server-'));
  const bootstrapFile = path.join(dir, 'bootstrap.json');
  await writeFile(bootstrapFile, opts.bootstrap);
  const script = path.join(repoRoot(), 'libs', 'testing', 'python', 'xds_server.py');
  const proc: ChildProcess = spawn(SYSTEM_PYTHON, ['-u', script, opts.address, opts.name], {
    env: { ...process.env, ...opts.env, GRPC_XDS_BOOTSTRAP: bootstrapFile },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const errLines: string[] = [];
  createInterface({ input: proc.stderr! }).on('line', (l) => {
    if (errLines.length < 5000) errLines.push(l);
  });
  const exit = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let exited = false;
  void exit.then(() => {
    exited = true;
  });
  const ready = new Promise<boolean>((resolve) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line.includes('"ready"')) resolve(true);
    });
    void exit.then(() => resolve(false));
  });
  const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  const started = await ready;
  clearTimeout(killer);
  if (!started) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`C-core xDS server did not start: ${errLines.slice(-10).join('\n')}`);
  }
  return {
    stderr: () => errLines,
    async close() {
      if (!exited) {
        proc.stdin!.end();
        const k = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exit;
        clearTimeout(k);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
