// Local identity: citadel with its CA under <state>/ca and a token file, one pilot-agent for the demo
// workload productpage, and (with control-plane security) agents holding galley's and pilot's
// certificates. Each agent keeps its certificates, SDS socket and bootstraps under <state>/workloads/<name>.
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

export interface LocalWorkload {
  /** Directory name under <state>/workloads and the console label. */
  name: string;
  pod: string;
  namespace: string;
  serviceAccount: string;
  ip: string;
  /** Status port (0: any free one). */
  statusPort: number;
  extra?: string[];
}

export const DEMO_WORKLOAD: Omit<LocalWorkload, 'statusPort'> = {
  name: 'productpage',
  pod: 'productpage-v1-local',
  namespace: 'default',
  serviceAccount: 'productpage',
  ip: '127.0.1.1',
};

/** Galley's, pilot's and the mixers' identities for control-plane security (their --cert-dir comes from these agents). */
export const CONTROL_PLANE_WORKLOADS: Omit<LocalWorkload, 'statusPort'>[] = [
  {
    name: 'galley',
    pod: 'istio-galley-local',
    namespace: 'istio-system',
    serviceAccount: 'istio-galley-service-account',
    ip: '127.0.0.1',
  },
  {
    name: 'pilot',
    pod: 'istio-pilot-local',
    namespace: 'istio-system',
    serviceAccount: 'istio-pilot-service-account',
    ip: '127.0.0.1',
  },
  {
    name: 'mixer-policy',
    pod: 'istio-policy-local',
    namespace: 'istio-system',
    serviceAccount: 'istio-mixer-service-account',
    ip: '127.0.0.1',
  },
  {
    name: 'mixer-telemetry',
    pod: 'istio-telemetry-local',
    namespace: 'istio-system',
    serviceAccount: 'istio-telemetry-service-account',
    ip: '127.0.0.1',
  },
];

const tokenKey = (w: { namespace: string; serviceAccount: string }) => `${w.namespace} ${w.serviceAccount}`;

/** `TOKEN NAMESPACE SERVICEACCOUNT` lines for citadel --token-file; tokens kept across runs (0600). */
export function ensureTokens(stateDir: string): Record<string, string> {
  const file = join(stateDir, 'tokens');
  const wanted = [DEMO_WORKLOAD, ...CONTROL_PLANE_WORKLOADS].map(tokenKey);
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

/** Starts citadel (local mode) and waits until it listens. */
export async function startCitadel(ctx: IdentityContext): Promise<void> {
  ensureTokens(ctx.stateDir);
  const citadel = startChild(
    'citadel',
    process.execPath,
    [
      ctx.citadelMain,
      '--ca-dir',
      join(ctx.stateDir, 'ca'),
      '--token-file',
      join(ctx.stateDir, 'tokens'),
      '--host',
      ctx.host,
      '--grpc-port',
      String(ctx.ports.citadelGrpc),
      '--monitoring-port',
      String(ctx.ports.citadelMonitoring),
      '--nats-url',
      ctx.natsUrl,
    ],
    ctx.out('citadel'),
  );
  ctx.children.push(citadel);
  await citadel.waitForLog('citadel listening', 20_000);
}

/** Starts a pilot-agent for `w`; resolves with its directory once it holds a certificate. */
export async function startAgent(ctx: IdentityContext, w: LocalWorkload): Promise<string> {
  const { stateDir, host, ports } = ctx;
  const token = ensureTokens(stateDir)[tokenKey(w)]!;
  const dir = join(stateDir, 'workloads', w.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'token'), token, { mode: 0o600 });
  const agent = startChild(
    `${w.name}-agent`,
    process.execPath,
    [
      ctx.agentMain,
      'proxy',
      'sidecar',
      '--discoveryAddress',
      `${host}:${ports.pilotGrpc}`,
      '--serviceCluster',
      `${w.name}.${w.namespace}`,
      '--ca-address',
      `${host}:${ports.citadelGrpc}`,
      '--ca-root-cert',
      join(stateDir, 'ca', 'root-cert.pem'),
      '--token-path',
      join(dir, 'token'),
      '--sds-uds-path',
      `unix:${join(dir, 'sds.sock')}`,
      '--configPath',
      join(dir, 'proxy'),
      '--output-certs',
      join(dir, 'certs'),
      '--statusPort',
      String(w.statusPort),
      '--status-host',
      host,
      ...(w.extra ?? []),
    ],
    ctx.out(`${w.name}-agent`),
    { ...process.env, POD_NAME: w.pod, POD_NAMESPACE: w.namespace, INSTANCE_IP: w.ip },
  );
  ctx.children.push(agent);
  await agent.waitForLog('pilot-agent ready', 20_000);
  return join(dir, 'certs');
}

/** The demo workload's agent (productpage), with a gRPC bootstrap for proxyless clients. */
export function startDemoAgent(ctx: IdentityContext): Promise<string> {
  const dir = join(ctx.stateDir, 'workloads', DEMO_WORKLOAD.name);
  return startAgent(ctx, {
    ...DEMO_WORKLOAD,
    statusPort: ctx.ports.agentStatus,
    extra: ['--grpc-bootstrap', join(dir, 'grpc-bootstrap.json')],
  });
}
