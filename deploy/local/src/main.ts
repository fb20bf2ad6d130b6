#!/usr/bin/env node
// `npm start`: the whole control plane on this machine with the bundled example mesh.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineFlags, parseFlagsOrExit } from '@keel/runtime';
import { startBackends } from './backends.js';
import { LOCAL_PORT, LOCAL_WORKLOADS, runSplitDemo } from './demo.js';
import { xdsClient } from './mesh-client.js';
import { DEFAULT_PORTS, type LocalPorts, startLocalPlane } from './runner.js';

const flags = defineFlags({
  'port-offset': {
    type: 'number',
    default: 0,
    help: 'Add this to every default port (run two planes side by side)',
  },
  demo: {
    type: 'boolean',
    default: true,
    help: 'Run the proxyless gRPC demo (backends on 127.0.1.x:9080 and a client)',
  },
  'control-plane-security': {
    type: 'boolean',
    default: false,
    help: "Galley's MCP, pilot's 15011 and the mixers' 15004 over mTLS with Citadel-issued certificates",
  },
  'state-dir': {
    type: 'string',
    default: '.keel',
    help: 'Where local state (NATS store, certificates) lives',
  },
});

const f = parseFlagsOrExit(flags, 'keel-local');
const root = resolve(fileURLToPath(import.meta.url), '../../../../..');
const stateDir = resolve(root, f['state-dir']);
mkdirSync(stateDir, { recursive: true });
const ports = Object.fromEntries(
  Object.entries(DEFAULT_PORTS).map(([k, v]) => [k, v + f['port-offset']]),
) as unknown as LocalPorts;
const color = process.stdout.isTTY === true;
const print = (line: string) => process.stdout.write(`${line}\n`);
const banner = (line: string) => print(color ? `\x1b[1m${line}\x1b[0m` : line);

let plane: Awaited<ReturnType<typeof startLocalPlane>> | undefined;
let stopDemo: (() => void) | undefined;
let backends: { stop(): Promise<void> } | undefined;
let stopping = false;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  banner('keel: stopping');
  stopDemo?.();
  await backends?.stop();
  await plane?.stop();
  banner('keel: stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  plane = await startLocalPlane({
    root,
    stateDir,
    ports,
    print,
    color,
    controlPlaneSecurity: f['control-plane-security'],
  });
  const h = '127.0.0.1';
  banner('keel: the control plane is up (Ctrl-C stops everything)');
  print(`  nats-server      nats://${h}:${ports.nats}  (events under keel.events.>)`);
  print(
    `  galley  MCP      ${h}:${ports.galleyMcp}   webhook https://${h}:${ports.galleyWebhook}/admitpilot   monitoring http://${h}:${ports.galleyMonitoring}/metrics`,
  );
  print(
    `  pilot   xDS      ${h}:${ports.pilotGrpc}  debug http://${h}:${ports.pilotHttp}/debug/syncz   monitoring http://${h}:${ports.pilotMonitoring}/metrics`,
  );
  print(
    `  mixer-policy     ${h}:${ports.mixerPolicyGrpc}  (ext_authz + Mixer v1 Check)   debug http://${h}:${ports.mixerPolicyMonitoring}/debug   monitoring http://${h}:${ports.mixerPolicyMonitoring}/metrics`,
  );
  if (plane.children.some((c) => c.name === 'mixer-telemetry'))
    print(
      `  mixer-telemetry  access logs ${h}:${ports.telemetryGrpc}   istio_* http://${h}:${ports.telemetryMetrics}/metrics   monitoring http://${h}:${ports.telemetryMonitoring}/metrics`,
    );
  if (plane.children.some((c) => c.name === 'prometheus'))
    print(
      `  prometheus       http://${h}:${ports.prometheus}  (scrapes every service; dashboards: deploy/grafana)`,
    );
  print(
    `  citadel CA       ${h}:${ports.citadelGrpc}  monitoring http://${h}:${ports.citadelMonitoring}/metrics  (CA in ${join(stateDir, 'ca')})`,
  );
  print(
    `  pilot-agent      productpage: status http://${h}:${ports.agentStatus}/healthz/ready  certs and bootstraps in ${join(stateDir, 'workloads/productpage')}`,
  );
  if (f['control-plane-security'])
    print(
      `  mTLS             galley MCP, pilot ${h}:${ports.pilotSecureGrpc}, mixer-policy ${h}:${ports.mixerPolicySecureGrpc}, mixer-telemetry ${h}:${ports.telemetrySecureGrpc} use Citadel-issued certificates`,
    );
  print(`  config           ${join(root, 'deploy/local/config')} (edit it: galley and pilot follow)`);
  if (plane.children.some((c) => c.name === 'injector')) {
    print(
      `  injector         webhook https://${h}:${ports.injectorWebhook}/inject   monitoring http://${h}:${ports.injectorMonitoring}/metrics`,
    );
    print(
      `  kube-inject      node cli/keelctl/dist/src/main.js kube-inject -f deploy/local/workloads/bookinfo.yaml`,
    );
  }
  if (f.demo) {
    backends = await startBackends(LOCAL_WORKLOADS, LOCAL_PORT);
    const client = xdsClient(
      `xds:///reviews.default.svc.cluster.local:${LOCAL_PORT}`,
      'sidecar~127.0.2.1~demo-client.default~default.svc.cluster.local',
      `${h}:${ports.pilotGrpc}`,
    );
    print(
      `  demo             grpc backends on 127.0.1.1-6:${LOCAL_PORT}; client -> xds:///reviews.default.svc.cluster.local:${LOCAL_PORT}`,
    );
    stopDemo = runSplitDemo(client, (line) => print(`${color ? '\x1b[32mdemo\x1b[0m  ' : 'demo  '} ${line}`));
  }
  for (const c of plane.children) {
    void c.exited.then((code) => {
      if (!stopping) {
        banner(`keel: ${c.name} exited unexpectedly (code ${code}); stopping`);
        void shutdown(1);
      }
    });
  }
} catch (err) {
  console.error(`keel: ${(err as Error).message}`);
  await shutdown(1);
}
