// Proxyless gRPC servers and mTLS: the generated shapes (the e2e test runs them through C-core).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildClusters } from '../src/generate/clusters.js';
import { grpcRbacPolicy } from '../src/generate/grpc-rbac.js';
import { buildGrpcServerListeners, grpcServerListenerName } from '../src/generate/grpc-server.js';
import { checkResources, generateProxyResources } from '../src/generate/index.js';
import { buildPushContext } from '../src/model/push-context.js';
import {
  grpcNode,
  makeBookinfoMesh,
  podEntry,
  proxyFor,
  sidecarNode,
  snapshotOf,
  toConfigEntry,
} from './fixtures/index.js';
import { checkedJson, LISTENER } from './route-test-util.js';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
type L = Record<string, any>;

function mesh(extra: object[] = [], meshConfig = {}, generator: 'grpc' | 'envoy' = 'grpc') {
  const base = makeBookinfoMesh([], meshConfig);
  const entries = [
    ...[...base.byKind.values()].flat(),
    ...extra.map((o, i) => toConfigEntry(o as any, 1000 + i)),
  ];
  const store = snapshotOf(entries, base.mesh);
  const push = buildPushContext(store);
  const pod = podEntry(store, 'reviews-v1-0');
  const proxy = proxyFor(push, generator === 'grpc' ? grpcNode(pod) : sidecarNode(pod));
  return { push, proxy };
}

const meshPolicy = (mtls: object) => ({
  apiVersion: 'authentication.istio.io/v1alpha1',
  kind: 'MeshPolicy',
  metadata: { name: 'default' },
  spec: { peers: [{ mtls }] },
});
const authz = (rules: object[]) => ({
  apiVersion: 'security.istio.io/v1beta1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'reviews', namespace: 'default' },
  spec: { selector: { matchLabels: { app: 'reviews' } }, rules },
});

function serverListener(extra: object[] = []): L {
  const { push, proxy } = mesh(extra);
  const res = generateProxyResources(push, proxy);
  assert.deepEqual(checkResources(res, 'grpc'), []);
  const name = grpcServerListenerName(proxy.ip, 9080);
  const l = res.listeners.find((x) => x.name === name);
  assert.ok(l, `no listener ${name}`);
  return checkedJson(LISTENER, l);
}
const hcmOf = (l: L) => l.filterChains[0].filters[0].typedConfig;

describe('proxyless gRPC server listeners', () => {
  it('named by the Istio template, addressed at the instance ip:port, non-forwarding route, router only', () => {
    const l = serverListener();
    assert.match(l.name, /^xds\.istio\.io\/grpc\/lds\/inbound\/10\.\d+\.\d+\.\d+:9080$/);
    assert.equal(`xds.istio.io/grpc/lds/inbound/${l.address.socketAddress.address}:9080`, l.name);
    assert.equal(l.address.socketAddress.portValue, 9080);
    assert.equal(l.filterChains.length, 1);
    assert.equal(l.filterChains[0].transportSocket, undefined);
    const hcm = hcmOf(l);
    assert.deepEqual(hcm.routeConfig.virtualHosts[0].routes[0].nonForwardingAction, {});
    assert.deepEqual(
      hcm.httpFilters.map((f: L) => f.name),
      ['envoy.filters.http.router'],
    );
    assert.equal(grpcServerListenerName('fd00::1', 80), 'xds.istio.io/grpc/lds/inbound/[fd00::1]:80');
  });

  it('PERMISSIVE is plaintext (gRPC cannot match on TLS); STRICT requires a client certificate from the providers', () => {
    assert.equal(
      serverListener([meshPolicy({ mode: 'PERMISSIVE' })]).filterChains[0].transportSocket,
      undefined,
    );
    const strict = serverListener([meshPolicy({})]).filterChains[0].transportSocket.typedConfig;
    assert.equal(strict.requireClientCertificate, true);
    assert.deepEqual(strict.commonTlsContext.tlsCertificateProviderInstance, {
      instanceName: 'default',
      certificateName: 'default',
    });
    assert.deepEqual(strict.commonTlsContext.validationContext.caCertificateProviderInstance, {
      instanceName: 'default',
      certificateName: 'ROOTCA',
    });
    assert.equal(strict.commonTlsContext.alpnProtocols, undefined);
  });

  it('RBAC before the router, in the forms C-core accepts (no string_match, :path as url_path)', () => {
    const l = serverListener([
      authz([
        {
          from: [
            { source: { principals: ['cluster.local/ns/default/sa/productpage'], namespaces: ['default'] } },
          ],
          to: [{ operation: { paths: ['/helloworld.Greeter/*'], methods: ['POST'] } }],
          when: [{ key: 'request.headers[x-team]', values: ['blue*'] }],
        },
      ]),
    ]);
    const filters = hcmOf(l).httpFilters;
    assert.deepEqual(
      filters.map((f: L) => f.name),
      ['envoy.filters.http.rbac', 'envoy.filters.http.router'],
    );
    const text = JSON.stringify(filters[0]);
    assert.ok(!text.includes('stringMatch'), text);
    assert.ok(text.includes('"urlPath":{"path":{"prefix":"/helloworld.Greeter/"}}'), text);
    assert.ok(text.includes('"exactMatch":"POST"'), text);
    assert.ok(text.includes('"safeRegexMatch":{"regex":"blue.*"}'), text);
    assert.ok(
      text.includes('"principalName":{"exact":"spiffe://cluster.local/ns/default/sa/productpage"}'),
      text,
    );
  });

  it('a rule gRPC cannot enforce (requestPrincipals, JWT claims) grants nothing instead of being dropped', () => {
    const denied: string[] = [];
    const p = grpcRbacPolicy(
      { permissions: [{ any: true }], principals: [{ metadata: { filter: 'istio_authn' } }] },
      denied,
      'claims',
    );
    assert.deepEqual(p, { permissions: [{ not_rule: { any: true } }], principals: [{ any: true }] });
    assert.equal(denied.length, 1);
    // `authenticated: {}` without a name matches plaintext callers in C-core: denied too.
    assert.deepEqual(
      grpcRbacPolicy({ permissions: [{ any: true }], principals: [{ authenticated: {} }] }).permissions,
      [{ not_rule: { any: true } }],
    );
    const l = serverListener([authz([{ from: [{ source: { requestPrincipals: ['*'] } }] }])]);
    // ALLOW (the default enum value) with no policy: nothing is allowed.
    assert.deepEqual(hcmOf(l).httpFilters[0].typedConfig.rules, {});
  });
});

describe('mTLS for proxyless clients and auto-mTLS', () => {
  const dr = (tls: object) => ({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'DestinationRule',
    metadata: { name: 'ratings', namespace: 'default' },
    spec: { host: 'ratings', trafficPolicy: { tls } },
  });
  const ratings = (clusters: L[]) =>
    checkedJson(
      CLUSTER,
      clusters.find((c) => c.name === 'outbound|9080||ratings.default.svc.cluster.local'),
    );

  it('ISTIO_MUTUAL: certificate providers, SAN match on the SPIFFE identity, no SNI or ALPN', () => {
    const { push, proxy } = mesh([dr({ mode: 'ISTIO_MUTUAL' })]);
    const c = ratings(buildClusters(push, proxy));
    const ctx = c.transportSocket.typedConfig;
    assert.equal(ctx.sni, undefined);
    assert.equal(ctx.commonTlsContext.tlsCertificateProviderInstance.instanceName, 'default');
    assert.deepEqual(ctx.commonTlsContext.validationContext.matchSubjectAltNames, [
      { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings' },
    ]);
  });

  it('auto-mTLS for gRPC clients: mTLS only when the destination is STRICT; the DR wins', () => {
    const auto = { enableAutoMtls: true };
    assert.equal(
      ratings(buildClusters(mesh([], auto).push, mesh([], auto).proxy)).transportSocket,
      undefined,
    );
    const permissive = mesh([meshPolicy({ mode: 'PERMISSIVE' })], auto);
    assert.equal(ratings(buildClusters(permissive.push, permissive.proxy)).transportSocket, undefined);
    const strict = mesh([meshPolicy({})], auto);
    assert.ok(ratings(buildClusters(strict.push, strict.proxy)).transportSocket);
    const disabled = mesh([meshPolicy({}), dr({ mode: 'DISABLE' })], auto);
    assert.equal(ratings(buildClusters(disabled.push, disabled.proxy)).transportSocket, undefined);
  });

  it('auto-mTLS for sidecars: ISTIO_MUTUAL for endpoints labelled tlsMode istio, plaintext for the rest', () => {
    const { push, proxy } = mesh([meshPolicy({ mode: 'PERMISSIVE' })], { enableAutoMtls: true }, 'envoy');
    const c = ratings(buildClusters(push, proxy));
    assert.equal(c.transportSocket, undefined);
    assert.deepEqual(
      c.transportSocketMatches.map((m: L) => [m.name, m.match, m.transportSocket.name]),
      [
        ['tlsMode-istio', { tlsMode: 'istio' }, 'envoy.transport_sockets.tls'],
        ['tlsMode-disabled', {}, 'envoy.transport_sockets.raw_buffer'],
      ],
    );
    assert.equal(
      c.transportSocketMatches[0].transportSocket.typedConfig.sni,
      'outbound_.9080_._.ratings.default.svc.cluster.local',
    );
    const off = mesh([meshPolicy({})], { enableAutoMtls: false }, 'envoy');
    assert.equal(ratings(buildClusters(off.push, off.proxy)).transportSocketMatches, undefined);
    const user = mesh([meshPolicy({}), dr({ mode: 'DISABLE' })], { enableAutoMtls: true }, 'envoy');
    assert.equal(ratings(buildClusters(user.push, user.proxy)).transportSocketMatches, undefined);
  });
});

describe('server listeners come only from service instances', () => {
  it('a client pod with no service gets none', () => {
    const { push, proxy } = mesh();
    assert.equal(buildGrpcServerListeners(push, { ...proxy, serviceInstances: [] }).length, 0);
  });
});
