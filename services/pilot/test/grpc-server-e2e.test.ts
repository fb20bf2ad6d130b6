// A gRPC C-core client calls a gRPC C-core xDS server (python3-grpcio), both configured only by
// Pilot: plaintext under PERMISSIVE, mTLS with CA-issued SPIFFE certificates under STRICT
// (DestinationRule ISTIO_MUTUAL, then auto-mTLS), AuthorizationPolicy enforced by the server.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CertificateAuthority, createSelfSignedCa, generateKey, privateKeyPem, spkiDer } from '@keel/pki';
import { TypeUrl } from '@keel/proto';
import {
  type CcoreCallResult,
  type CcoreClient,
  type CcoreServer,
  freePort,
  startCcoreClient,
  startCcoreServer,
  type TempDir,
  tempDir,
  waitFor,
} from '@keel/testing';
import type { KubeObject } from './fixtures/store.js';
import { type Harness, startHarness, waitEvent } from './server-harness.js';

const NS = 'default';
const SERVER_IP = '127.0.3.1';
const SVC_PORT = 7070;
const TARGET = `xds:///echo.${NS}.svc.cluster.local:${SVC_PORT}`;
const spiffe = (sa: string) => `spiffe://cluster.local/ns/${NS}/sa/${sa}`;

let h: Harness;
let dir: TempDir;
let port: number;
let server: CcoreServer;
let plain: CcoreClient;
let clientA: CcoreClient;
let clientB: CcoreClient;
let ca: CertificateAuthority;

function echoMesh(targetPort: number): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS }, spec: {} },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo', namespace: NS },
      spec: {
        clusterIP: '10.0.0.10',
        selector: { app: 'echo' },
        ports: [{ name: 'grpc', port: SVC_PORT, targetPort }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'echo-0', namespace: NS, labels: { app: 'echo' } },
      spec: {
        serviceAccountName: 'echo',
        containers: [{ name: 'echo', ports: [{ name: 'grpc', containerPort: targetPort }] }],
      },
      status: { podIP: SERVER_IP, phase: 'Running' },
    },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'echo', namespace: NS },
      subsets: [
        {
          addresses: [{ ip: SERVER_IP, targetRef: { kind: 'Pod', name: 'echo-0', namespace: NS } }],
          ports: [{ name: 'grpc', port: targetPort, protocol: 'TCP' }],
        },
      ],
    },
  ];
}

const meshPolicy = (mtls: object): KubeObject => ({
  apiVersion: 'authentication.istio.io/v1alpha1',
  kind: 'MeshPolicy',
  metadata: { name: 'default' },
  spec: { peers: [{ mtls }] },
});
const PERMISSIVE = meshPolicy({ mode: 'PERMISSIVE' });
const STRICT = meshPolicy({});
const ISTIO_MUTUAL: KubeObject = {
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'DestinationRule',
  metadata: { name: 'echo', namespace: NS },
  spec: { host: 'echo', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } },
};
const ONLY_CLIENT_A: KubeObject = {
  apiVersion: 'security.istio.io/v1beta1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'echo-allow-a', namespace: NS },
  spec: {
    selector: { matchLabels: { app: 'echo' } },
    rules: [{ from: [{ source: { principals: [`cluster.local/ns/${NS}/sa/client-a`] } }] }],
  },
};

/** Certificates as pilot-agent --output-certs writes them, for service account `sa`. */
async function writeCerts(sa: string): Promise<string> {
  const certDir = path.join(dir.path, `certs-${sa}`);
  await mkdir(certDir, { recursive: true });
  const key = await generateKey({ algorithm: 'ECDSA' });
  const issued = ca.issue({ spki: spkiDer(key), uris: [spiffe(sa)], ttlMs: 3_600_000 });
  await writeFile(path.join(certDir, 'cert-chain.pem'), issued.chain.slice(0, -1).join(''));
  await writeFile(path.join(certDir, 'key.pem'), privateKeyPem(key));
  await writeFile(path.join(certDir, 'root-cert.pem'), ca.rootPem());
  return certDir;
}

/** The gRPC bootstrap pilot-agent --grpc-bootstrap writes (node, template, file_watcher certs). */
function bootstrap(pod: string, ip: string, labels: Record<string, string>, certDir?: string): string {
  return JSON.stringify({
    xds_servers: [
      {
        server_uri: `127.0.0.1:${h.ports.grpcPort}`,
        channel_creds: [{ type: 'insecure' }],
        server_features: ['xds_v3'],
      },
    ],
    node: {
      id: `sidecar~${ip}~${pod}.${NS}~${NS}.svc.cluster.local`,
      cluster: `${pod}.${NS}`,
      metadata: {
        GENERATOR: 'grpc',
        NAMESPACE: NS,
        INSTANCE_IPS: ip,
        LABELS: labels,
        ISTIO_VERSION: '1.4.10',
      },
      locality: {},
    },
    server_listener_resource_name_template: 'xds.istio.io/grpc/lds/inbound/%s',
    ...(certDir
      ? {
          certificate_providers: {
            default: {
              plugin_name: 'file_watcher',
              config: {
                certificate_file: path.join(certDir, 'cert-chain.pem'),
                private_key_file: path.join(certDir, 'key.pem'),
                ca_certificate_file: path.join(certDir, 'root-cert.pem'),
                refresh_interval: '300s',
              },
            },
          },
        }
      : {}),
  });
}

const SERVER_NODE = `sidecar~${SERVER_IP}~echo-0.${NS}~${NS}.svc.cluster.local`;

const CLIENT_B_NODE = `sidecar~127.0.3.12~client-b-0.${NS}~${NS}.svc.cluster.local`;

/** Publishes `objects` and resolves once `node` ACKs a new version of `typeUrl` (the server's Listener by default). */
async function publish(
  objects: KubeObject[],
  mesh?: Record<string, unknown>,
  node = SERVER_NODE,
  typeUrl: string = TypeUrl.Listener,
): Promise<void> {
  const acked = waitEvent(h.pilot.events, 'ack', (a) => a.node === node && a.typeUrl === typeUrl, 10_000);
  h.publish([...echoMesh(port), ...objects], mesh);
  await acked;
}

const describe = (r: CcoreCallResult) => (r.ok ? `ok:${r.message}` : `error:${r.codeName}`);

/**
 * Calls until the outcome is `want` (clients reconnect and re-resolve after a change, and the server
 * drains its old connections): observing two other processes, so this polls with a deadline.
 */
async function expectOutcome(client: CcoreClient, want: string): Promise<void> {
  let last = '';
  let details = '';
  await waitFor(
    async () => {
      const r = await client.call({ message: 'peer?', timeoutMs: 2000 });
      last = describe(r);
      details = r.ok ? '' : r.details;
      return last === want;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `outcome ${want}` },
  ).catch((e) => {
    assert.fail(`${(e as Error).message}; last outcome ${last} ${details}`);
  });
}

before(async () => {
  dir = await tempDir('grpc-server');
  const caKey = await generateKey({ algorithm: 'ECDSA' });
  const rootPem = createSelfSignedCa({ key: caKey, organization: 'cluster.local', ttlMs: 86_400_000 });
  ca = new CertificateAuthority({
    signingCertPem: rootPem,
    signingKey: caKey,
    intermediatePems: [],
    rootPem,
    previousRootPems: [],
  });
  port = await freePort();
  h = await startHarness(undefined);
  const serverCerts = await writeCerts('echo');
  const [certsA, certsB] = await Promise.all([writeCerts('client-a'), writeCerts('client-b')]);
  const firstAck = publish([PERMISSIVE]);
  server = await startCcoreServer({
    bootstrap: bootstrap('echo-0', SERVER_IP, { app: 'echo' }, serverCerts),
    address: `${SERVER_IP}:${port}`,
    name: 'echo-0',
  });
  await firstAck;
  [plain, clientA, clientB] = await Promise.all([
    startCcoreClient({ bootstrap: bootstrap('plain-0', '127.0.3.10', { app: 'plain' }), target: TARGET }),
    startCcoreClient({
      bootstrap: bootstrap('client-a-0', '127.0.3.11', { app: 'client-a' }, certsA),
      target: TARGET,
      xdsCredentials: true,
    }),
    startCcoreClient({
      bootstrap: bootstrap('client-b-0', '127.0.3.12', { app: 'client-b' }, certsB),
      target: TARGET,
      xdsCredentials: true,
    }),
  ]);
});

after(async () => {
  await Promise.all([plain?.close(), clientA?.close(), clientB?.close(), server?.close()]);
  await h?.stop();
  await dir?.cleanup();
});

test('PERMISSIVE: the xDS server serves plaintext; every client gets through', async () => {
  await expectOutcome(plain, 'ok:plaintext');
  await expectOutcome(clientA, 'ok:plaintext');
});

test('STRICT + ISTIO_MUTUAL: mTLS with the client SPIFFE identity; a client without a certificate fails', async () => {
  await publish([STRICT, ISTIO_MUTUAL]);
  await expectOutcome(clientA, `ok:tls ${spiffe('client-a')}`);
  await expectOutcome(clientB, `ok:tls ${spiffe('client-b')}`);
  await expectOutcome(plain, 'error:UNAVAILABLE');
});

test('AuthorizationPolicy: only client-a passes, client-b gets PERMISSION_DENIED; removing it restores access', async () => {
  await publish([STRICT, ISTIO_MUTUAL, ONLY_CLIENT_A]);
  await expectOutcome(clientB, 'error:PERMISSION_DENIED');
  await expectOutcome(clientA, `ok:tls ${spiffe('client-a')}`);
  await publish([STRICT, ISTIO_MUTUAL]);
  await expectOutcome(clientB, `ok:tls ${spiffe('client-b')}`);
});

test('ServiceRole/ServiceRoleBinding: principal, method path and header constraint enforced by the server', async () => {
  const rbac: KubeObject[] = [
    {
      apiVersion: 'rbac.istio.io/v1alpha1',
      kind: 'ClusterRbacConfig',
      metadata: { name: 'default' },
      spec: { mode: 'ON' },
    },
    {
      apiVersion: 'rbac.istio.io/v1alpha1',
      kind: 'ServiceRole',
      metadata: { name: 'echo-caller', namespace: NS },
      spec: {
        rules: [
          {
            services: [`echo.${NS}.svc.cluster.local`],
            paths: ['/keel.demo.v1.Echo/*'],
            constraints: [{ key: 'request.headers[x-team]', values: ['blue'] }],
          },
        ],
      },
    },
    {
      apiVersion: 'rbac.istio.io/v1alpha1',
      kind: 'ServiceRoleBinding',
      metadata: { name: 'echo-caller', namespace: NS },
      spec: {
        subjects: [{ user: `cluster.local/ns/${NS}/sa/client-a` }],
        roleRef: { kind: 'ServiceRole', name: 'echo-caller' },
      },
    },
  ];
  await publish([STRICT, ISTIO_MUTUAL, ...rbac]);
  await expectOutcome(clientA, 'error:PERMISSION_DENIED');
  const blue = await clientA.call({ message: 'peer?', metadata: { 'x-team': 'blue' } });
  assert.equal(describe(blue), `ok:tls ${spiffe('client-a')}`);
  const other = await clientA.call({ message: 'peer?', metadata: { 'x-team': 'red' } });
  assert.equal(describe(other), 'error:PERMISSION_DENIED');
  const b = await clientB.call({ message: 'peer?', metadata: { 'x-team': 'blue' } });
  assert.equal(describe(b), 'error:PERMISSION_DENIED');
});

test('a rule gRPC cannot enforce (requestPrincipals) denies instead of allowing', async () => {
  const jwtOnly: KubeObject = {
    ...ONLY_CLIENT_A,
    metadata: { name: 'echo-jwt', namespace: NS },
    spec: {
      selector: { matchLabels: { app: 'echo' } },
      rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }],
    },
  };
  await publish([STRICT, ISTIO_MUTUAL, jwtOnly]);
  await expectOutcome(clientA, 'error:PERMISSION_DENIED');
  assert.equal(describe(await clientB.call({ message: 'peer?' })), 'error:PERMISSION_DENIED');
});

test('auto-mTLS (enableAutoMtls) without a DestinationRule: STRICT gives proxyless clients mTLS', async () => {
  // Without the DestinationRule and without auto-mTLS the client dials plaintext: refused.
  await publish([STRICT], { enableAutoMtls: false }, CLIENT_B_NODE, TypeUrl.Cluster);
  await expectOutcome(clientB, 'error:UNAVAILABLE');
  await publish([STRICT], { enableAutoMtls: true }, CLIENT_B_NODE, TypeUrl.Cluster);
  await expectOutcome(clientB, `ok:tls ${spiffe('client-b')}`);
});
