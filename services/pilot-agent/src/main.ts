#!/usr/bin/env node
// pilot-agent proxy [sidecar|router] --flags...: the istio-proxy container's entrypoint.
import { readFileSync } from 'node:fs';
import { createLogger, onShutdown, parseFlags, usage } from '@keel/runtime';
import { createAgent } from './agent.js';
import { buildNode, type ProxyType } from './node.js';
import { agentFlags } from './options.js';
import { parseAppProbers } from './status.js';

const fail = (msg: string): never => {
  process.stderr.write(`pilot-agent: ${msg}\n`);
  process.exit(2);
};
const argv = process.argv.slice(2);
if (argv[0] === 'proxy') argv.shift();
let type: ProxyType = 'sidecar';
if (argv[0] === 'sidecar' || argv[0] === 'router') type = argv.shift() as ProxyType;
else if (argv[0] !== undefined && !argv[0].startsWith('-'))
  fail(`unknown proxy type '${argv[0]}' (sidecar or router)`);
const parsed = parseFlags(agentFlags, argv);
if (!parsed.ok) {
  if (parsed.errors.help) {
    process.stdout.write(
      `Usage: pilot-agent proxy [sidecar|router] [flags]\n${usage(agentFlags, 'pilot-agent').split('\n').slice(1).join('\n')}\n`,
    );
    process.exit(0);
  }
  fail(parsed.errors.join('\n'));
}
const f = parsed.ok ? parsed.value : fail('unreachable');
const logger = createLogger('pilot-agent', { level: f['log-level'] });
const policy = f.controlPlaneAuthPolicy;
if (policy !== 'NONE' && policy !== 'MUTUAL_TLS')
  fail(`--controlPlaneAuthPolicy must be NONE or MUTUAL_TLS, not '${policy}'`);
const keyAlgorithm = f['key-algorithm'];
if (keyAlgorithm !== 'RSA' && keyAlgorithm !== 'ECDSA')
  fail(`--key-algorithm must be RSA or ECDSA, not '${keyAlgorithm}'`);
const node = buildNode({
  type,
  ...(f.ip ? { ip: f.ip } : {}),
  ...(f.id ? { id: f.id } : {}),
  ...(f.domain ? { domain: f.domain } : {}),
  serviceCluster: f.serviceCluster,
  env: process.env,
  sds: true,
});
if (!node.ok) fail(node.errors.join('\n'));
let probers = {};
try {
  probers = parseAppProbers(process.env.ISTIO_KUBE_APP_PROBERS);
} catch (e) {
  fail((e as Error).message);
}
let bootstrapOverride: string | undefined;
if (process.env.ISTIO_BOOTSTRAP_OVERRIDE) {
  try {
    bootstrapOverride = readFileSync(process.env.ISTIO_BOOTSTRAP_OVERRIDE, 'utf8');
  } catch (e) {
    fail(`ISTIO_BOOTSTRAP_OVERRIDE: ${(e as Error).message}`);
  }
}
const istioNamespace = process.env.ISTIO_NAMESPACE ?? 'istio-system';
const td = f['trust-domain'];
const agent = createAgent({
  node: node.ok ? node.value : fail('unreachable'),
  discoveryAddress: f.discoveryAddress,
  controlPlaneAuthPolicy: policy as 'NONE' | 'MUTUAL_TLS',
  pilotSan: f.pilotIdentity ?? `spiffe://${td}/ns/${istioNamespace}/sa/istio-pilot-service-account`,
  configPath: f.configPath,
  binaryPath: f.binaryPath,
  adminPort: f.proxyAdminPort,
  statsPort: f.statsPort,
  statusPort: f.statusPort,
  statusHost: f['status-host'],
  connectTimeoutMs: f.connectTimeout,
  dnsRefreshRateMs: f.dnsRefreshRate,
  ...(f.zipkinAddress ? { zipkinAddress: f.zipkinAddress } : {}),
  ...(f.otlpAddress ? { otlpAddress: f.otlpAddress } : {}),
  ...(f.statsdUdpAddress ? { statsdUdpAddress: f.statsdUdpAddress } : {}),
  ...(f.envoyMetricsService ? { envoyMetricsService: f.envoyMetricsService } : {}),
  ...(f.envoyAccessLogService ? { envoyAccessLogService: f.envoyAccessLogService } : {}),
  caAddress: f['ca-address'],
  caRootFile: f['ca-root-cert'],
  tokenPath: f['token-path'],
  sdsUdsPath: f['sds-uds-path'],
  secretTtlMs: f['secret-ttl'],
  graceRatio: f['secret-grace-ratio'],
  keyAlgorithm: keyAlgorithm as 'RSA' | 'ECDSA',
  ...(f['output-certs'] ? { outputCerts: f['output-certs'] } : {}),
  ...(f['grpc-bootstrap'] ? { grpcBootstrap: f['grpc-bootstrap'] } : {}),
  ...(bootstrapOverride !== undefined ? { bootstrapOverride } : {}),
  drainDurationMs: f.drainDuration,
  parentShutdownDurationMs: f.parentShutdownDuration,
  proxyLogLevel: f.proxyLogLevel,
  proxyComponentLogLevel: f.proxyComponentLogLevel,
  concurrency: f.concurrency,
  terminationDrainMs: f['termination-drain-duration'] * 1000,
  probers,
  applicationPorts: f.applicationPorts.map(Number).filter((p) => Number.isInteger(p) && p > 0),
  logger,
});
onShutdown(() => agent.stop());
const started = await agent.start().catch(async (e: Error) => {
  await agent.stop().catch(() => undefined);
  return fail(e.message);
});
logger.info({ ...started, node: node.ok ? node.value.id : '' }, 'pilot-agent ready');
