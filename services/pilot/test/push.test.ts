// The push path as a client sees it: an inconsistent build is never sent (the proxy keeps its last good
// config, the failure is counted and logged with the missing names), and a change reaches only the
// proxies that can see it (Sidecar egress). Real MCP source, real Pilot, real ADS streams.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, it } from 'node:test';
import { createLogger } from '@keel/runtime';
import type { KubeObject } from './fixtures/store.js';
import { AdsClient, type AdsResponse } from './server-ads.js';
import { type Harness, startHarness, waitEvent } from './server-harness.js';

const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const RDS = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
const NET = 'networking.istio.io/v1alpha3';

let h: Harness;
const lines = new EventEmitter();
const clients: AdsClient[] = [];

before(async () => {
  const destination = { write: (chunk: string) => void lines.emit('line', JSON.parse(chunk)) };
  h = await startHarness(undefined, { logger: createLogger('pilot', { level: 'info', destination }) });
});

after(async () => {
  for (const c of clients) c.close();
  await h?.stop();
});

const namespace = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name },
  spec: {},
});
const service = (name: string, ns: string, ip: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { clusterIP: ip, selector: { app: name }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] },
});
const routeTo = (name: string, ns: string, host: string, prefix: string): KubeObject => ({
  apiVersion: NET,
  kind: 'VirtualService',
  metadata: { name, namespace: ns },
  spec: {
    hosts: [host],
    http: [
      { match: [{ uri: { prefix } }], route: [{ destination: { host } }] },
      { route: [{ destination: { host } }] },
    ],
  },
});

function node(pod: string, ns: string, ip: string) {
  const metadata = { ISTIO_VERSION: '1.4.10', NAMESPACE: ns, INSTANCE_IPS: ip, LABELS: { app: 'sleep' } };
  return { id: `sidecar~${ip}~${pod}.${ns}~${ns}.svc.cluster.local`, cluster: `sleep.${ns}`, metadata };
}

/** The next response of `type`; any other type arriving first fails the test (nothing else may be sent). */
async function expect(c: AdsClient, type: string): Promise<AdsResponse> {
  const r = await c.next();
  assert.equal(
    r.type_url,
    type,
    `expected ${type}, got ${r.type_url} (${JSON.stringify(r.resources.map((x) => x.name ?? x.cluster_name))})`,
  );
  c.write({
    type_url: type,
    version_info: r.version_info,
    response_nonce: r.nonce,
    resource_names: type === RDS ? ['8080'] : [],
  });
  return r;
}

/** Connects and takes CDS, LDS and RDS `8080` in turn (each ACKed). */
async function connect(pod: string, ns: string, ip: string): Promise<{ c: AdsClient; cds: AdsResponse }> {
  const c = new AdsClient(`127.0.0.1:${h.ports.grpcPort}`, node(pod, ns, ip));
  clients.push(c);
  c.write({ type_url: CDS, resource_names: [] });
  const cds = await expect(c, CDS);
  c.write({ type_url: LDS, resource_names: [] });
  await expect(c, LDS);
  c.write({ type_url: RDS, resource_names: ['8080'] });
  await expect(c, RDS);
  return { c, cds };
}

const text = (r: AdsResponse) => JSON.stringify(r.resources);
const pushDone = (version: (v: string) => boolean = () => true) =>
  waitEvent(
    lines,
    'line',
    (l: Record<string, any>) => l.msg === 'push done' && version(String(l.version ?? '')),
  );

const metric = async (name: string): Promise<number> => {
  const m = (await h.get('/metrics', 'monitoring')).text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return Number(m?.[1] ?? 0);
};

it('a VirtualService change in namespace a sends nothing to proxies whose Sidecar excludes a', async () => {
  const base: KubeObject[] = [
    namespace('a'),
    namespace('b'),
    service('svc-a', 'a', '10.0.1.10'),
    service('svc-b', 'b', '10.0.2.10'),
    {
      apiVersion: NET,
      kind: 'Sidecar',
      metadata: { name: 'default', namespace: 'b' },
      spec: { egress: [{ hosts: ['./*'] }] },
    },
  ];
  const settled = pushDone();
  h.publish(base);
  await settled;
  const { c: inA } = await connect('sleep-a', 'a', '10.40.1.1');
  const { c: inB } = await connect('sleep-b', 'b', '10.40.2.1');
  h.publish([...base, routeTo('svc-a', 'a', 'svc-a.a.svc.cluster.local', '/only-a')]);
  const seenByA = await expect(inA, RDS);
  assert.match(text(seenByA), /only-a/, 'the proxy in a got the change');
  // A change b sees: it must be the first thing b receives (the a change sent b nothing).
  h.publish([
    ...base,
    routeTo('svc-a', 'a', 'svc-a.a.svc.cluster.local', '/only-a'),
    routeTo('svc-b', 'b', 'svc-b.b.svc.cluster.local', '/only-b'),
  ]);
  const seenByB = await expect(inB, RDS);
  assert.match(text(seenByB), /only-b/);
  assert.doesNotMatch(text(seenByB), /only-a|svc-a/);
  assert.equal(inB.pending(), 0);
});

it('an inconsistent build is not sent: the proxy keeps its last good config, the metric rises, the log names what is missing', async () => {
  const base: KubeObject[] = [namespace('c'), service('svc-c', 'c', '10.0.3.10')];
  const settled = pushDone();
  h.publish(base);
  await settled;
  const { c, cds } = await connect('sleep-c', 'c', '10.40.3.1');
  assert.doesNotMatch(text(cds), /ghost/);
  const before = await metric('pilot_xds_inconsistent_snapshots');
  // An EDS cluster added by an EnvoyFilter has no ClusterLoadAssignment: the build is inconsistent.
  const ghost: KubeObject = {
    apiVersion: NET,
    kind: 'EnvoyFilter',
    metadata: { name: 'ghost', namespace: 'c' },
    spec: {
      configPatches: [
        {
          applyTo: 'CLUSTER',
          match: { context: 'SIDECAR_OUTBOUND' },
          patch: {
            operation: 'ADD',
            value: {
              name: 'ghost',
              type: 'EDS',
              connectTimeout: { seconds: 1 },
              edsClusterConfig: { serviceName: 'ghost-eds', edsConfig: { ads: {} } },
            },
          },
        },
      ],
    },
  };
  const logged = waitEvent(lines, 'line', (l: Record<string, any>) =>
    /inconsistent snapshot not sent/.test(String(l.msg)),
  );
  h.publish([...base, ghost]);
  const line = await logged;
  assert.ok(
    (line.missing as string[]).some((m) => m.endsWith('/ghost-eds')),
    `the log names the missing resource: ${JSON.stringify(line.missing)}`,
  );
  await pushDone();
  assert.ok((await metric('pilot_xds_inconsistent_snapshots')) > before);
  // The next good config is the first thing the proxy receives: the inconsistent one was never sent.
  h.publish([...base, routeTo('svc-c', 'c', 'svc-c.c.svc.cluster.local', '/after')]);
  const rds = await expect(c, RDS);
  assert.match(text(rds), /after/);
  assert.equal(c.pending(), 0);
});
