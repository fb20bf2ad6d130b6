// pilot-agent with a real Citadel (in-process, local mode): certificates over a real TLS gRPC call,
// an SDS client built on Envoy's SDS proto receiving default and ROOTCA then a renewal on the open
// stream, files under --output-certs, the gRPC bootstrap, and the status server.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { type Citadel, createCitadel } from '@keel/citadel';
import { spiffeIdsOf } from '@keel/pki';
import { serviceClient, unpackAny } from '@keel/proto';
import { silentLogger } from '@keel/runtime';
import { type TempDir, tempDir, waitFor } from '@keel/testing';
import { type Agent, buildNode, createAgent, decodeBootstrapJson, SECRET_TYPE_URL } from '../src/index.js';

interface SdsResponse {
  version_info: string;
  nonce: string;
  resources: { type_url: string; value: Buffer }[];
}

/** An SDS stream for one resource name that ACKs every response and records it. */
export function sdsStream(socket: string, name: string) {
  const Client = serviceClient('envoy.service.secret.v3.SecretDiscoveryService');
  const client = new Client(`unix:${socket}`, grpc.credentials.createInsecure());
  const call = (
    client as unknown as { StreamSecrets(): grpc.ClientDuplexStream<unknown, SdsResponse> }
  ).StreamSecrets();
  const responses: { version: string; secret: Record<string, any> }[] = [];
  const node = { id: 'sidecar~10.0.0.1~test.ns1~ns1.svc.cluster.local' };
  call.on('data', (r: SdsResponse) => {
    // proto-loader (json: true) already unpacks Any into { '@type', ...fields }.
    const res = r.resources[0] as unknown as Record<string, any>;
    responses.push({ version: r.version_info, secret: res['@type'] ? res : unpackAny(res as never) });
    call.write({
      node,
      version_info: r.version_info,
      response_nonce: r.nonce,
      resource_names: [name],
      type_url: SECRET_TYPE_URL,
    });
  });
  call.on('error', () => {});
  call.write({ node, resource_names: [name], type_url: SECRET_TYPE_URL });
  return {
    responses,
    close() {
      call.cancel();
      client.close();
    },
  };
}

describe('pilot-agent with Citadel', () => {
  let dir: TempDir;
  let citadel: Citadel;
  let agent: Agent;
  let statusPort: number;
  let quits = 0;
  const app = createServer((req, res) => {
    res.statusCode = req.url === '/healthy' ? 200 : 500;
    res.end();
  });
  const f = (n: string) => path.join(dir.path, n);

  before(async () => {
    dir = await tempDir('agent');
    writeFileSync(f('tokens'), 'tok-1 ns1 sa1\n');
    writeFileSync(f('token'), 'tok-1\n');
    citadel = createCitadel({
      host: '127.0.0.1',
      grpcPort: 0,
      monitoringPort: 0,
      caDir: f('ca'),
      tokenFile: f('tokens'),
      logger: silentLogger,
    });
    const { grpcPort } = await citadel.start();
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as AddressInfo).port;
    const node = buildNode({
      type: 'sidecar',
      ip: '10.0.0.1',
      serviceCluster: 'test.ns1',
      hostIps: [],
      env: { POD_NAME: 'test', POD_NAMESPACE: 'ns1' },
    });
    assert.ok(node.ok);
    agent = createAgent({
      node: node.value,
      discoveryAddress: '127.0.0.1:15010',
      controlPlaneAuthPolicy: 'NONE',
      pilotSan: 'spiffe://cluster.local/ns/istio-system/sa/istio-pilot-service-account',
      configPath: f('proxy'),
      binaryPath: f('no-envoy-here'),
      adminPort: 15000,
      statsPort: 15090,
      statusPort: 0,
      statusHost: '127.0.0.1',
      connectTimeoutMs: 1000,
      dnsRefreshRateMs: 300_000,
      caAddress: `127.0.0.1:${grpcPort}`,
      caRootFile: f('ca/root-cert.pem'),
      tokenPath: f('token'),
      sdsUdsPath: `unix:${f('sds.sock')}`,
      secretTtlMs: 3000,
      graceRatio: 0.5,
      keyAlgorithm: 'ECDSA',
      outputCerts: f('certs'),
      grpcBootstrap: f('grpc-bootstrap.json'),
      drainDurationMs: 45_000,
      parentShutdownDurationMs: 60_000,
      proxyLogLevel: 'warning',
      proxyComponentLogLevel: 'misc:error',
      concurrency: 0,
      terminationDrainMs: 0,
      probers: {
        '/app-health/app/livez': { httpGet: { path: '/healthy', port: appPort } },
        '/app-health/app/readyz': { httpGet: { path: '/broken', port: appPort } },
      },
      onQuit: () => quits++,
      logger: silentLogger,
    });
    statusPort = (await agent.start()).statusPort;
  });
  after(async () => {
    await agent.stop();
    await citadel.stop();
    app.close();
    await dir.cleanup();
  });

  it('serves default and ROOTCA over SDS and pushes the renewed certificate on the open stream', async () => {
    const def = sdsStream(f('sds.sock'), 'default');
    const root = sdsStream(f('sds.sock'), 'ROOTCA');
    try {
      await waitFor(() => def.responses.length >= 1 && root.responses.length >= 1, { timeoutMs: 5000 });
      const first = def.responses[0]!.secret;
      assert.equal(first.name, 'default');
      const chain = Buffer.from(first.tls_certificate.certificate_chain.inline_bytes, 'base64').toString();
      const leaf = new X509Certificate(chain);
      assert.deepEqual(spiffeIdsOf(leaf), ['spiffe://cluster.local/ns/ns1/sa/sa1']);
      const rootPem = Buffer.from(
        root.responses[0]!.secret.validation_context.trusted_ca.inline_bytes,
        'base64',
      ).toString();
      assert.equal(rootPem, citadel.authority().trustBundle().join(''));
      assert.equal(leaf.verify(new X509Certificate(rootPem).publicKey), true);
      // 3 s certificates renew at half-life: the next one arrives on the same stream.
      await waitFor(() => def.responses.length >= 2, { timeoutMs: 6000 });
      const renewed = new X509Certificate(
        Buffer.from(
          def.responses[1]!.secret.tls_certificate.certificate_chain.inline_bytes,
          'base64',
        ).toString(),
      );
      assert.notEqual(renewed.serialNumber, leaf.serialNumber);
      assert.notEqual(def.responses[1]!.version, def.responses[0]!.version);
      assert.deepEqual(spiffeIdsOf(renewed), ['spiffe://cluster.local/ns/ns1/sa/sa1']);
      assert.ok(agent.certs.renewals() >= 1);
    } finally {
      def.close();
      root.close();
    }
  });

  it('writes the certificates (key 0600) and the gRPC bootstrap', () => {
    const chain = readFileSync(f('certs/cert-chain.pem'), 'utf8');
    const key = readFileSync(f('certs/key.pem'), 'utf8');
    assert.equal(new X509Certificate(chain).checkPrivateKey(createPrivateKey(key)), true);
    assert.equal(statSync(f('certs/key.pem')).mode & 0o777, 0o600);
    assert.equal(readFileSync(f('certs/root-cert.pem'), 'utf8'), citadel.authority().trustBundle().join(''));
    const b = JSON.parse(readFileSync(f('grpc-bootstrap.json'), 'utf8'));
    assert.equal(b.node.id, 'sidecar~10.0.0.1~test.ns1~ns1.svc.cluster.local');
    assert.equal(b.certificate_providers.default.config.certificate_file, f('certs/cert-chain.pem'));
    const text = readFileSync(f('proxy/envoy-rev0.json'), 'utf8');
    const decoded = decodeBootstrapJson(text);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.errors.join('\n'));
    assert.equal((decoded.value.message as unknown as { node: { id: string } }).node.id, b.node.id);
    const broken = JSON.parse(text);
    broken.staticResources.clusters[0].connectTimeout = 'soon';
    broken.admin.bogus = 1;
    assert.deepEqual(decodeBootstrapJson(JSON.stringify(broken)), {
      ok: false,
      errors: [
        'Bootstrap.staticResources.clusters[0].connectTimeout: \'soon\' is not a duration like "1.5s"',
        'Bootstrap.admin.bogus: no such field in envoy.config.bootstrap.v3.Admin',
      ],
    });
  });

  it('answers readiness, app probes, Prometheus stats and /quitquitquit', async () => {
    const get = async (p: string, method = 'GET') => {
      const r = await fetch(`http://127.0.0.1:${statusPort}${p}`, { method });
      return { status: r.status, body: await r.text() };
    };
    assert.deepEqual(await get('/healthz/ready'), { status: 200, body: 'ready' });
    assert.equal((await get('/app-health/app/livez')).status, 200);
    assert.equal((await get('/app-health/app/readyz')).status, 503);
    assert.equal((await get('/app-health/other/livez')).status, 404);
    const stats = await get('/stats/prometheus');
    assert.match(stats.body, /pilot_agent_sds_pushes_total [1-9]/);
    assert.match(stats.body, /pilot_agent_cert_expiry_timestamp \d{10}/);
    assert.equal((await get('/metrics')).status, 200);
    assert.equal((await get('/quitquitquit', 'POST')).status, 200);
    await waitFor(() => quits === 1);
  });
});
