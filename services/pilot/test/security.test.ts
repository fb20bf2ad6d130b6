import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findUnknownFields, toProtoJson } from '@keel/proto';
import { buildSidecarListeners, newListenerStats } from '../src/generate/listeners.js';
import { networkRbacFilter } from '../src/generate/rbac.js';
import { expectGolden } from './golden.js';
import { bookinfoProductpage, LISTENER, listenersJson } from './listener-util.js';

type L = Record<string, any>;
const PP = 'productpage.default.svc.cluster.local';

const meshPolicy = (peers: unknown[]) => ({
  apiVersion: 'authentication.istio.io/v1alpha1',
  kind: 'MeshPolicy',
  metadata: { name: 'default' },
  spec: { peers },
});

function inbound(ls: L[], ip: string): L {
  const l = ls.find((x) => x.name === `${ip}_9080`);
  assert.ok(l, 'no inbound listener');
  return l;
}
const hcm = (chain: L): L =>
  chain.filters.find((f: L) => f.name === 'envoy.filters.network.http_connection_manager').typedConfig;

describe('authn: MeshPolicy / Policy', () => {
  it('STRICT (`mtls: {}`) with SDS: one mTLS chain using secrets default + ROOTCA', () => {
    const { push, proxy } = bookinfoProductpage([], {}, { SDS: 'true' }, [meshPolicy([{ mtls: {} }])]);
    const l = inbound(listenersJson(push, proxy), proxy.ip);
    assert.equal(l.filterChains.length, 1);
    const ctx = l.filterChains[0].transportSocket.typedConfig;
    assert.equal(
      ctx['@type'],
      'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
    );
    assert.equal(ctx.requireClientCertificate, true);
    assert.equal(ctx.commonTlsContext.tlsCertificateSdsSecretConfigs[0].name, 'default');
    assert.equal(
      ctx.commonTlsContext.combinedValidationContext.validationContextSdsSecretConfig.name,
      'ROOTCA',
    );
    expectGolden('lds-inbound-strict-sds', l);
  });

  it('PERMISSIVE: ALPN `istio` TLS chain, then plaintext; tls_inspector on both listeners', () => {
    const { push, proxy } = bookinfoProductpage([], {}, {}, [meshPolicy([{ mtls: { mode: 'PERMISSIVE' } }])]);
    const ls = listenersJson(push, proxy);
    const l = inbound(ls, proxy.ip);
    assert.equal(l.filterChains.length, 2);
    assert.deepEqual(l.filterChains[0].filterChainMatch, { applicationProtocols: ['istio'] });
    assert.equal(
      l.filterChains[0].transportSocket.typedConfig.commonTlsContext.tlsCertificates[0].certificateChain
        .filename,
      '/etc/certs/cert-chain.pem',
    );
    assert.equal(l.filterChains[1].transportSocket, undefined);
    assert.deepEqual(
      l.listenerFilters.map((f: L) => f.name),
      ['envoy.filters.listener.tls_inspector'],
    );
    const vi = ls.find((x) => x.name === 'virtualInbound')!;
    assert.deepEqual(
      vi.listenerFilters.map((f: L) => f.name),
      ['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector'],
    );
    expectGolden('lds-inbound-permissive', l);
  });

  it('a service-targeted Policy beats the MeshPolicy; origins become jwt_authn first in the chain', () => {
    const policy = {
      apiVersion: 'authentication.istio.io/v1alpha1',
      kind: 'Policy',
      metadata: { name: 'pp-jwt', namespace: 'default' },
      spec: {
        targets: [{ name: 'productpage' }],
        origins: [
          {
            jwt: {
              issuer: 'testing@secure.istio.io',
              jwksUri: 'https://example.com/jwks.json',
              triggerRules: [{ excludedPaths: [{ exact: '/health' }] }],
            },
          },
        ],
        principalBinding: 'USE_ORIGIN',
      },
    };
    const { push, proxy } = bookinfoProductpage([], {}, {}, [meshPolicy([{ mtls: {} }]), policy]);
    const stats = newListenerStats();
    buildSidecarListeners(push, proxy, stats);
    assert.equal(stats.jwksClusterMissing, 1, 'example.com is not a registry host');
    const l = inbound(listenersJson(push, proxy), proxy.ip);
    assert.equal(l.filterChains[0].transportSocket, undefined, 'the Policy has no peers: plaintext');
    const filters = hcm(l.filterChains[0]).httpFilters;
    assert.equal(filters[0].name, 'envoy.filters.http.jwt_authn');
    assert.equal(filters.at(-1).name, 'envoy.filters.http.router');
    const jwt = filters[0].typedConfig;
    assert.equal(jwt.providers['origins-0'].remoteJwks.httpUri.cluster, 'outbound|443||example.com');
    assert.deepEqual(jwt.rules, [
      { match: { path: '/health' } },
      { match: { prefix: '/' }, requires: { providerName: 'origins-0' } },
    ]);
  });
});

const role = (rules: unknown[]) => ({
  apiVersion: 'rbac.istio.io/v1alpha1',
  kind: 'ServiceRole',
  metadata: { name: 'pp-viewer', namespace: 'default' },
  spec: { rules },
});
const binding = {
  apiVersion: 'rbac.istio.io/v1alpha1',
  kind: 'ServiceRoleBinding',
  metadata: { name: 'bind-pp-viewer', namespace: 'default' },
  spec: {
    subjects: [
      { user: 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account' },
      { properties: { 'source.namespace': 'test' } },
    ],
    roleRef: { kind: 'ServiceRole', name: 'pp-viewer' },
  },
};
const rbacConfig = (mode: string, enforcementMode?: string) => ({
  apiVersion: 'rbac.istio.io/v1alpha1',
  kind: 'ClusterRbacConfig',
  metadata: { name: 'default' },
  spec: { mode, ...(enforcementMode ? { enforcementMode } : {}) },
});

describe('rbac: ClusterRbacConfig + ServiceRole/Binding', () => {
  const rules = [{ services: [PP], methods: ['GET'], paths: ['/productpage', '/static/*'] }];

  it('ON: envoy.filters.http.rbac before cors, policy named after the role, spiffe principal', () => {
    const { push, proxy } = bookinfoProductpage([], {}, {}, [rbacConfig('ON'), role(rules), binding]);
    const filters = hcm(inbound(listenersJson(push, proxy), proxy.ip).filterChains[0]).httpFilters;
    assert.deepEqual(
      filters.map((f: L) => f.name),
      [
        'envoy.filters.http.rbac',
        'envoy.filters.http.cors',
        'envoy.filters.http.fault',
        'envoy.filters.http.router',
      ],
    );
    const rbac = filters[0].typedConfig;
    assert.deepEqual(Object.keys(rbac.rules.policies), ['pp-viewer']);
    const principals = rbac.rules.policies['pp-viewer'].principals;
    assert.deepEqual(principals[0], {
      authenticated: {
        principalName: {
          exact: 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
        },
      },
    });
    expectGolden('rbac-http-on', rbac);
  });

  it('PERMISSIVE enforcement goes to shadow_rules; OFF and exclusion emit nothing', () => {
    const perm = bookinfoProductpage([], {}, {}, [rbacConfig('ON', 'PERMISSIVE'), role(rules), binding]);
    const rbac = hcm(inbound(listenersJson(perm.push, perm.proxy), perm.proxy.ip).filterChains[0])
      .httpFilters[0].typedConfig;
    assert.equal(rbac.rules, undefined);
    assert.ok(rbac.shadowRules.policies['pp-viewer']);
    const excl = {
      ...rbacConfig('ON_WITH_EXCLUSION'),
      spec: { mode: 'ON_WITH_EXCLUSION', exclusion: { namespaces: ['default'] } },
    };
    const off = bookinfoProductpage([], {}, {}, [excl, role(rules), binding]);
    const names = hcm(
      inbound(listenersJson(off.push, off.proxy), off.proxy.ip).filterChains[0],
    ).httpFilters.map((f: L) => f.name);
    assert.ok(!names.includes('envoy.filters.http.rbac'));
  });

  it('network RBAC keeps port rules and drops HTTP-only ones', () => {
    const tcpRules = [
      { services: [PP], methods: ['GET'] },
      { services: [PP], ports: [9080] },
    ];
    const { push, proxy } = bookinfoProductpage([], {}, {}, [rbacConfig('ON'), role(tcpRules), binding]);
    const inst = proxy.serviceInstances[0]!;
    const f = networkRbacFilter(push, proxy, inst.service, inst.servicePort)!;
    const json = toProtoJson('envoy.config.listener.v3.Filter', f) as L;
    assert.deepEqual(json.typedConfig.rules.policies['pp-viewer'].permissions, [{ destinationPort: 9080 }]);
  });

  it('AuthorizationPolicy v1beta1 selecting the workload is merged in', () => {
    const ap = {
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'pp', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'productpage' } },
        rules: [
          { from: [{ source: { namespaces: ['istio-system'] } }], to: [{ operation: { methods: ['GET'] } }] },
        ],
      },
    };
    const { push, proxy } = bookinfoProductpage([], {}, {}, [ap]);
    const rbac = hcm(inbound(listenersJson(push, proxy), proxy.ip).filterChains[0]).httpFilters[0]
      .typedConfig;
    assert.deepEqual(Object.keys(rbac.rules.policies), ['ns[default]-policy[pp]-rule[0]']);
  });
});

const mixerEntries = ['istio-policy', 'istio-telemetry'].map((name, i) => ({
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'ServiceEntry',
  metadata: { name, namespace: 'istio-system' },
  spec: {
    hosts: [`${name}.istio-system.svc.cluster.local`],
    addresses: [`10.9.0.${i + 1}`],
    ports: [{ number: 9091, name: 'grpc-mixer', protocol: 'GRPC' }],
    location: 'MESH_INTERNAL',
    resolution: 'DNS',
    endpoints: [{ address: `${name}.istio-system` }],
  },
}));
const mixerMesh = {
  mixerCheckServer: 'istio-policy.istio-system.svc.cluster.local:9091',
  mixerReportServer: 'istio-telemetry.istio-system.svc.cluster.local:9091',
  disablePolicyChecks: false,
};

describe('mixer: ext_authz (Check) and gRPC access logs (Report)', () => {
  it('inbound HCM gets ext_authz before cors and per-route static attributes; HCMs log over ALS', () => {
    const { push, proxy } = bookinfoProductpage([], mixerMesh, {}, mixerEntries);
    const ls = listenersJson(push, proxy);
    const h = hcm(inbound(ls, proxy.ip).filterChains[0]);
    assert.deepEqual(h.httpFilters.map((f: L) => f.name).slice(0, 2), [
      'envoy.filters.http.ext_authz',
      'envoy.filters.http.cors',
    ]);
    const authz = h.httpFilters[0].typedConfig;
    assert.equal(
      authz.grpcService.envoyGrpc.clusterName,
      'outbound|9091||istio-policy.istio-system.svc.cluster.local',
    );
    assert.equal(authz.transportApiVersion, 'V3');
    assert.equal(authz.failureModeAllow, undefined, 'fail closed by default');
    const ext =
      h.routeConfig.virtualHosts[0].routes[0].typedPerFilterConfig['envoy.filters.http.ext_authz']
        .checkSettings.contextExtensions;
    assert.equal(ext['destination.service.uid'], 'istio://default/services/productpage');
    assert.equal(ext['destination.uid'], `kubernetes://${proxy.id}`);
    assert.equal(ext['context.reporter.kind'], 'inbound');
    assert.equal(h.accessLog[0].typedConfig.commonConfig.logName, 'keel-mixer');
    const outbound = hcm(ls.find((l) => l.name === '0.0.0.0_9080')!.filterChains[0]);
    assert.ok(
      !outbound.httpFilters.some((f: L) => f.name === 'envoy.filters.http.ext_authz'),
      'no client-side checks by default',
    );
    assert.equal(outbound.accessLog[0].name, 'envoy.access_loggers.http_grpc');
    expectGolden('lds-inbound-mixer', inbound(ls, proxy.ip));
  });

  it('policy.istio.io/check: allow-on-error fails open, disable removes the filter', () => {
    const open = bookinfoProductpage(
      [],
      mixerMesh,
      { 'policy.istio.io/check': 'allow-on-error' },
      mixerEntries,
    );
    const f = hcm(inbound(listenersJson(open.push, open.proxy), open.proxy.ip).filterChains[0])
      .httpFilters[0];
    assert.equal(f.typedConfig.failureModeAllow, true);
    const off = bookinfoProductpage([], mixerMesh, { 'policy.istio.io/check': 'disable' }, mixerEntries);
    const names = hcm(
      inbound(listenersJson(off.push, off.proxy), off.proxy.ip).filterChains[0],
    ).httpFilters.map((x: L) => x.name);
    assert.ok(!names.includes('envoy.filters.http.ext_authz'));
  });

  it('a mixer server outside the registry emits nothing and is counted', () => {
    const { push, proxy } = bookinfoProductpage([], mixerMesh);
    const stats = newListenerStats();
    const ls = buildSidecarListeners(push, proxy, stats);
    for (const l of ls) assert.deepEqual(findUnknownFields(LISTENER, l), []);
    assert.ok(stats.mixerServerMissing > 0);
    assert.ok(!JSON.stringify(ls).includes('ext_authz'));
    assert.ok(!JSON.stringify(ls).includes('http_grpc'));
  });
});
