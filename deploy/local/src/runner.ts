import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  injectorWebhook: number;
  injectorMonitoring: number;
  mixerPolicyGrpc: number;
  mixerPolicyMonitoring: number;
  telemetryGrpc: number;
  telemetryMetrics: number;
  telemetryMonitoring: number;
  /** Prometheus (started only when the `prometheus` binary is installed). */
  prometheus: number;
  citadelGrpc: number;
  citadelMonitoring: number;
  agentStatus: number;
  pilotSecureGrpc: number;
  mixerPolicySecureGrpc: number;
  telemetrySecureGrpc: number;
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
  injectorWebhook: 9444,
  injectorMonitoring: 15018,
  mixerPolicyGrpc: 9091,
  mixerPolicyMonitoring: 15016,
  // mixer-telemetry: 9091 is mixer-policy's in local mode, so telemetry's gRPC moves to 9092.
  telemetryGrpc: 9092,
  telemetryMetrics: 42422,
  telemetryMonitoring: 15017,
  prometheus: 9090,
  citadelGrpc: 8060,
  citadelMonitoring: 15019,
  agentStatus: 15020,
  pilotSecureGrpc: 15011,
  mixerPolicySecureGrpc: 15004,
  // mixer-telemetry's 15004 moves to 15005 locally (15004 is mixer-policy's).
  telemetrySecureGrpc: 15005,
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

/** The Debian `prometheus` binary, or undefined (the local plane then runs without it). */
export function findPrometheus(): string | undefined {
  for (const p of ['/usr/bin/prometheus', '/usr/local/bin/prometheus']) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Scrape config for the local plane: the job names of deploy/prometheus (Istio 1.4's). */
export function localPrometheusConfig(host: string, ports: LocalPorts): string {
  const job = (name: string, port: number) =>
    `  - job_name: ${name}\n    static_configs: [{ targets: ['${host}:${port}'] }]\n`;
  return (
    'global:\n  scrape_interval: 5s\nscrape_configs:\n' +
    job('galley', ports.galleyMonitoring) +
    job('pilot', ports.pilotMonitoring) +
    job('istio-telemetry', ports.telemetryMonitoring) +
    job('istio-mesh', ports.telemetryMetrics)
  );
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
  /** Galley's MCP, pilot's 15011 and the mixers' 15004 over mTLS with Citadel-issued certificates. */
  controlPlaneSecurity?: boolean;
}

/** Starts nats-server, galley and pilot as separate processes on loopback, in dependency order. */
/** A service's node flags from deploy/node-options.json (NODE_OPTIONS in the compose file and manifests). */
export function nodeOptions(root: string, service: string): string[] {
  const all = JSON.parse(readFileSync(join(root, 'deploy/node-options.json'), 'utf8')) as Record<
    string,
    string
  >;
  return (all[service] ?? '').split(' ').filter((a) => a !== '');
}

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
      if (what === 'nats' || (what === 'prometheus' && !findPrometheus())) continue;
      await checkPortFree(host, port, what);
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
        ...nodeOptions(root, 'pilot'),
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
    if (cert) {
      // The sidecar injector with the template and values it ships; `keelctl kube-inject` uses the same.
      const injector = startChild(
        'injector',
        node,
        [
          join(root, 'services/sidecar-injector/dist/src/main.js'),
          '--host',
          host,
          '--port',
          String(ports.injectorWebhook),
          '--monitoring-port',
          String(ports.injectorMonitoring),
          '--tls-cert',
          cert.cert,
          '--tls-key',
          cert.key,
          '--inject-config',
          join(root, 'services/sidecar-injector/files/config.yaml'),
          '--inject-values',
          join(root, 'services/sidecar-injector/files/values.json'),
          '--mesh-config',
          join(root, 'deploy/local/mesh.yaml'),
        ],
        out('injector'),
      );
      children.push(injector);
      await injector.waitForLog('sidecar injector listening', 20_000);
    }
    const mixerPolicy = startChild(
      'mixer-policy',
      node,
      [
        join(root, 'services/mixer-policy/dist/src/main.js'),
        '--mcp-address',
        `${host}:${ports.galleyMcp}`,
        '--host',
        host,
        '--grpc-port',
        String(ports.mixerPolicyGrpc),
        '--monitoring-port',
        String(ports.mixerPolicyMonitoring),
        '--nats-url',
        natsUrl,
        ...(certDirs['mixer-policy']
          ? [
              '--cert-dir',
              certDirs['mixer-policy'],
              '--secure-grpc-port',
              String(ports.mixerPolicySecureGrpc),
              '--mcp-tls',
            ]
          : []),
      ],
      out('mixer-policy'),
    );
    children.push(mixerPolicy);
    await mixerPolicy.waitForLog('mixer-policy listening', 20_000);
    const telemetryMain = join(root, 'services/mixer-telemetry/dist/src/main.js');
    if (existsSync(telemetryMain)) {
      const telemetry = startChild(
        'mixer-telemetry',
        node,
        [
          telemetryMain,
          '--mcp-address',
          `${host}:${ports.galleyMcp}`,
          '--host',
          host,
          '--grpc-port',
          String(ports.telemetryGrpc),
          '--metrics-port',
          String(ports.telemetryMetrics),
          '--monitoring-port',
          String(ports.telemetryMonitoring),
          '--nats-url',
          natsUrl,
          ...(certDirs['mixer-telemetry']
            ? [
                '--cert-dir',
                certDirs['mixer-telemetry'],
                '--secure-grpc-port',
                String(ports.telemetrySecureGrpc),
                '--mcp-tls',
              ]
            : []),
        ],
        out('mixer-telemetry'),
      );
      children.push(telemetry);
      await telemetry.waitForLog('mixer-telemetry listening', 20_000);
    }
    const prometheus = findPrometheus();
    if (prometheus) {
      const promDir = join(opts.stateDir, 'prometheus');
      mkdirSync(promDir, { recursive: true });
      const config = join(promDir, 'prometheus.yml');
      writeFileSync(config, localPrometheusConfig(host, ports));
      const prom = startChild(
        'prometheus',
        prometheus,
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${join(promDir, 'data')}`,
          `--web.listen-address=${host}:${ports.prometheus}`,
          '--log.level=warn',
        ],
        (line) => {
          if (/level=(warn|error)/.test(line)) out('prometheus')(line);
        },
      );
      children.push(prom);
    }
    await startDemoAgent(identity);
    return { ports, children, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
