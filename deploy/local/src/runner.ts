import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import {
  CONTROL_PLANE_WORKLOADS,
  type IdentityContext,
  startAgent,
  startCitadel,
  startDemoAgent,
} from './identity.js';
import { type Child, formatLine, startChild } from './supervisor.js';

export interface LocalPorts {
  nats: number;
  galleyMcp: number;
  galleyWebhook: number;
  galleyMonitoring: number;
  pilotGrpc: number;
  pilotHttp: number;
  pilotMonitoring: number;
  citadelGrpc: number;
  citadelMonitoring: number;
  agentStatus: number;
  pilotSecureGrpc: number;
}

/** Default local ports: the container defaults where two services do not collide. */
export const DEFAULT_PORTS: LocalPorts = {
  nats: 4222,
  galleyMcp: 9901,
  galleyWebhook: 9443,
  galleyMonitoring: 15014,
  pilotGrpc: 15010,
  pilotHttp: 8080,
  pilotMonitoring: 15015,
  citadelGrpc: 8060,
  citadelMonitoring: 15016,
  agentStatus: 15020,
  pilotSecureGrpc: 15011,
};

export interface LocalPlane {
  ports: LocalPorts;
  children: Child[];
  stop(): Promise<void>;
}

/** The nats-server binary on PATH or at Debian's location; undefined when missing. */
export function findNats(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/bin'];
  for (const d of dirs) {
    const p = join(d, 'nats-server');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** Resolves when `port` can be bound on `host`, rejects naming the port otherwise. */
export function checkPortFree(host: string, port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', () =>
      reject(
        new Error(`port ${port} (${what}) is in use on ${host}: stop what holds it or pass a different port`),
      ),
    );
    s.listen(port, host, () => s.close(() => resolve()));
  });
}

/** A port the kernel says is free on loopback right now. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as import('node:net').AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A self-signed webhook certificate under `dir` (openssl CLI); undefined when openssl is missing. */
export function ensureWebhookCert(dir: string): { cert: string; key: string } | undefined {
  const cert = join(dir, 'webhook.crt');
  const key = join(dir, 'webhook.key');
  if (existsSync(cert) && existsSync(key)) return { cert, key };
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '365',
        '-subj',
        '/CN=istio-galley.istio-system.svc',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    return { cert, key };
  } catch {
    return undefined;
  }
}

export interface StartLocalOptions {
  root: string;
  stateDir: string;
  ports: LocalPorts;
  print: (line: string) => void;
  color: boolean;
  /** Galley's MCP and pilot's 15011 over mTLS with Citadel-issued certificates. */
  controlPlaneSecurity?: boolean;
}

/** Starts nats-server, galley and pilot as separate processes on loopback, in dependency order. */
export async function startLocalPlane(opts: StartLocalOptions): Promise<LocalPlane> {
  const { root, ports, print, color } = opts;
  const host = '127.0.0.1';
  const children: Child[] = [];
  const stop = async () => {
    for (const c of [...children].reverse()) await c.stop();
  };
  try {
    const nats = findNats();
    if (!nats)
      throw new Error(
        'nats-server is missing: install it with `sudo apt-get install -y nats-server` (npm start does this when run as root)',
      );
    for (const [what, port] of Object.entries(ports)) {
      if (what !== 'nats') await checkPortFree(host, port, what);
    }
    // A nats-server already on 4222 (a system service, say) is left alone: ours takes a free port.
    if (
      !(await checkPortFree(host, ports.nats, 'nats').then(
        () => true,
        () => false,
      ))
    )
      ports.nats = await freeLoopbackPort();
    const out = (name: string) => (line: string) => print(formatLine(name, line, color));
    const natsDir = join(opts.stateDir, 'nats');
    mkdirSync(natsDir, { recursive: true });
    const natsChild = startChild(
      'nats',
      nats,
      ['-js', '-a', host, '-p', String(ports.nats), '-sd', natsDir],
      // nats-server's start-up banner is noise here: keep its warnings and errors.
      (line) => {
        if (/\[(WRN|ERR|FTL)\]/.test(line)) out('nats')(line);
      },
    );
    children.push(natsChild);
    await natsChild.waitForLine(/Server is ready/, 10_000);
    const natsUrl = `nats://${host}:${ports.nats}`;
    const node = process.execPath;
    const cert = ensureWebhookCert(join(opts.stateDir, 'certs'));
    const identity: IdentityContext = {
      citadelMain: join(root, 'services/citadel/dist/src/main.js'),
      agentMain: join(root, 'services/pilot-agent/dist/src/main.js'),
      stateDir: opts.stateDir,
      host,
      ports,
      natsUrl,
      children,
      out,
    };
    // Citadel first: with control-plane security, galley and pilot serve with agent-held certificates.
    await startCitadel(identity);
    const certDirs: Record<string, string> = {};
    if (opts.controlPlaneSecurity) {
      for (const w of CONTROL_PLANE_WORKLOADS)
        certDirs[w.name] = await startAgent(identity, { ...w, statusPort: 0 });
    }
    const galley = startChild(
      'galley',
      node,
      [
        join(root, 'services/galley/dist/src/main.js'),
        '--config-dir',
        join(root, 'deploy/local/config'),
        '--mesh-config',
        join(root, 'deploy/local/mesh.yaml'),
        '--host',
        host,
        '--mcp-port',
        String(ports.galleyMcp),
        '--webhook-port',
        String(ports.galleyWebhook),
        '--monitoring-port',
        String(ports.galleyMonitoring),
        '--nats-url',
        natsUrl,
        ...(cert ? ['--tls-cert', cert.cert, '--tls-key', cert.key] : []),
        ...(certDirs.galley ? ['--cert-dir', certDirs.galley] : []),
      ],
      out('galley'),
    );
    children.push(galley);
    await galley.waitForLog('galley listening', 20_000);
    const pilot = startChild(
      'pilot',
      node,
      [
        join(root, 'services/pilot/dist/src/main.js'),
        '--mcp-address',
        `${host}:${ports.galleyMcp}`,
        '--host',
        host,
        '--grpc-port',
        String(ports.pilotGrpc),
        '--http-port',
        String(ports.pilotHttp),
        '--monitoring-port',
        String(ports.pilotMonitoring),
        '--nats-url',
        natsUrl,
        ...(certDirs.pilot
          ? ['--cert-dir', certDirs.pilot, '--secure-grpc-port', String(ports.pilotSecureGrpc), '--mcp-tls']
          : []),
      ],
      out('pilot'),
    );
    children.push(pilot);
    await pilot.waitForLog('pilot listening', 20_000);
    await startDemoAgent(identity);
    return { ports, children, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
