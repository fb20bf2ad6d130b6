import path from 'node:path';
import { type RunningProcess, repoRoot, startProcess } from '@keel/testing';

/** A service started from its compiled main, listening on loopback ports chosen by the OS. */
export interface ServiceProcess {
  proc: RunningProcess;
  /** The fields of the service's 'listening' JSON log line. */
  listening: Record<string, unknown>;
  /** GET `path` on 127.0.0.1:`port`; resolves with status and body text. */
  get(port: number, urlPath: string): Promise<{ status: number; body: string }>;
  /** SIGTERM (SIGKILL after 5 s); resolves with the exit code or signal. */
  stop(): Promise<number | string>;
}

export interface GalleyProcess extends ServiceProcess {
  mcpPort: number;
  /** `127.0.0.1:<mcpPort>` for MCP sinks. */
  mcpAddress: string;
  monitoringPort: number;
  /** The text of /metrics on the monitoring port. */
  metrics(): Promise<string>;
}

export interface PilotProcess extends ServiceProcess {
  grpcPort: number;
  /** `127.0.0.1:<grpcPort>`, the xDS server for clients' bootstrap. */
  xdsAddress: string;
  httpPort: number;
  monitoringPort: number;
  metrics(): Promise<string>;
  /** /debug/syncz on the HTTP port, parsed. */
  syncz(): Promise<unknown>;
}

const READY_TIMEOUT_MS = 20_000;

function mainOf(service: string): string {
  return path.join(repoRoot(), 'services', service, 'dist', 'src', 'main.js');
}

async function httpGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: await res.text() };
}

/** Starts `node services/<service>/dist/src/main.js args` and parses its `msg` log line. */
async function startService(
  service: string,
  args: string[],
  msg: string,
  env?: Record<string, string>,
): Promise<ServiceProcess> {
  const readyLine = new RegExp(`"msg":"${msg}"`);
  const proc = await startProcess(process.execPath, [mainOf(service), ...args], {
    cwd: repoRoot(),
    ...(env ? { env } : {}),
    readyLine,
    timeoutMs: READY_TIMEOUT_MS,
  });
  const line = await proc.waitForLine(readyLine);
  const listening = JSON.parse(line) as Record<string, unknown>;
  return {
    proc,
    listening,
    get: httpGet,
    async stop() {
      await proc.stop();
      return proc.exited;
    },
  };
}

function port(listening: Record<string, unknown>, key: string, service: string): number {
  const v = listening[key];
  if (typeof v !== 'number' || v <= 0)
    throw new Error(`${service}: 'listening' line has no ${key}: ${JSON.stringify(listening)}`);
  return v;
}

export interface GalleyStartOptions {
  /** File mode: serve this directory. */
  configDir?: string;
  /** Kubernetes mode: a kubeconfig file. */
  kubeconfig?: string;
  /** Extra environment (e.g. KEEL_OTLP_ENDPOINT). */
  env?: Record<string, string>;
  natsUrl?: string;
  meshConfig?: string;
  extraArgs?: string[];
}

/** The real galley process (file or Kubernetes mode) on 127.0.0.1, ports 0. */
export async function startGalley(opts: GalleyStartOptions): Promise<GalleyProcess> {
  const args = ['--host', '127.0.0.1', '--mcp-port', '0'];
  if (opts.configDir) args.push('--config-dir', opts.configDir);
  if (opts.kubeconfig) args.push('--kubeconfig', opts.kubeconfig);
  args.push('--monitoring-port', '0');
  if (opts.natsUrl) args.push('--nats-url', opts.natsUrl);
  if (opts.meshConfig) args.push('--mesh-config', opts.meshConfig);
  args.push(...(opts.extraArgs ?? []));
  const svc = await startService('galley', args, 'galley listening', opts.env);
  const mcpPort = port(svc.listening, 'mcpPort', 'galley');
  const monitoringPort = port(svc.listening, 'monitoringPort', 'galley');
  return {
    ...svc,
    mcpPort,
    mcpAddress: `127.0.0.1:${mcpPort}`,
    monitoringPort,
    metrics: async () => (await httpGet(monitoringPort, '/metrics')).body,
  };
}

export interface PilotStartOptions {
  mcpAddress: string;
  /** Extra environment (e.g. KEEL_OTLP_ENDPOINT). */
  env?: Record<string, string>;
  natsUrl?: string;
  extraArgs?: string[];
}

/** The real pilot process, an MCP sink of `mcpAddress`, on 127.0.0.1 with ports 0. */
export async function startPilot(opts: PilotStartOptions): Promise<PilotProcess> {
  const args = ['--mcp-address', opts.mcpAddress, '--host', '127.0.0.1'];
  args.push('--grpc-port', '0', '--http-port', '0', '--monitoring-port', '0');
  if (opts.natsUrl) args.push('--nats-url', opts.natsUrl);
  args.push(...(opts.extraArgs ?? []));
  const svc = await startService('pilot', args, 'pilot listening', opts.env);
  const grpcPort = port(svc.listening, 'grpcPort', 'pilot');
  const httpPort = port(svc.listening, 'httpPort', 'pilot');
  const monitoringPort = port(svc.listening, 'monitoringPort', 'pilot');
  return {
    ...svc,
    grpcPort,
    xdsAddress: `127.0.0.1:${grpcPort}`,
    httpPort,
    monitoringPort,
    metrics: async () => (await httpGet(monitoringPort, '/metrics')).body,
    async syncz() {
      const res = await httpGet(httpPort, '/debug/syncz');
      if (res.status !== 200) throw new Error(`/debug/syncz answered ${res.status}: ${res.body}`);
      return JSON.parse(res.body) as unknown;
    },
  };
}

/** The sum of the samples of `name` whose labels contain every `labels` pair; 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labelText = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) total += Number(m[3]);
  }
  return total;
}
