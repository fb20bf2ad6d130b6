// Local identity: citadel with its CA under <state>/ca and a token file, and one pilot-agent for the
// demo workload productpage (certificates, SDS socket, Envoy and gRPC bootstraps under <state>/workloads).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalPorts } from './runner.js';
import { type Child, startChild } from './supervisor.js';

export interface IdentityContext {
  citadelMain: string;
  agentMain: string;
  stateDir: string;
  host: string;
  ports: LocalPorts;
  natsUrl: string;
  children: Child[];
  out: (name: string) => (line: string) => void;
}

/** `TOKEN NAMESPACE SERVICEACCOUNT` lines for citadel --token-file; tokens kept across runs (0600). */
export function ensureTokens(stateDir: string): Record<string, string> {
  const file = join(stateDir, 'tokens');
  const wanted = ['default productpage'];
  const tokens: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [t, ns, sa] = line.trim().split(/\s+/);
      if (t && ns && sa) tokens[`${ns} ${sa}`] = t;
    }
  }
  for (const w of wanted) tokens[w] ??= randomBytes(24).toString('hex');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(
    file,
    Object.entries(tokens)
      .map(([k, t]) => `${t} ${k}\n`)
      .join(''),
    { mode: 0o600 },
  );
  return tokens;
}

export async function startIdentity(ctx: IdentityContext): Promise<void> {
  const { stateDir, host, ports, out } = ctx;
  const node = process.execPath;
  const tokens = ensureTokens(stateDir);
  const caDir = join(stateDir, 'ca');
  const citadel = startChild(
    'citadel',
    node,
    [
      ctx.citadelMain,
      '--ca-dir',
      caDir,
      '--token-file',
      join(stateDir, 'tokens'),
      '--host',
      host,
      '--grpc-port',
      String(ports.citadelGrpc),
      '--monitoring-port',
      String(ports.citadelMonitoring),
      '--nats-url',
      ctx.natsUrl,
    ],
    out('citadel'),
  );
  ctx.children.push(citadel);
  await citadel.waitForLog('citadel listening', 20_000);
  const wl = join(stateDir, 'workloads', 'productpage');
  mkdirSync(wl, { recursive: true });
  writeFileSync(join(wl, 'token'), tokens['default productpage']!, { mode: 0o600 });
  const agent = startChild(
    'agent',
    node,
    [
      ctx.agentMain,
      'proxy',
      'sidecar',
      '--discoveryAddress',
      `${host}:${ports.pilotGrpc}`,
      '--serviceCluster',
      'productpage.default',
      '--ca-address',
      `${host}:${ports.citadelGrpc}`,
      '--ca-root-cert',
      join(caDir, 'root-cert.pem'),
      '--token-path',
      join(wl, 'token'),
      '--sds-uds-path',
      `unix:${join(wl, 'sds.sock')}`,
      '--configPath',
      join(wl, 'proxy'),
      '--output-certs',
      join(wl, 'certs'),
      '--grpc-bootstrap',
      join(wl, 'grpc-bootstrap.json'),
      '--statusPort',
      String(ports.agentStatus),
      '--status-host',
      host,
    ],
    out('agent'),
    { ...process.env, POD_NAME: 'productpage-v1-local', POD_NAMESPACE: 'default', INSTANCE_IP: '127.0.1.1' },
  );
  ctx.children.push(agent);
  await agent.waitForLog('pilot-agent ready', 20_000);
}
