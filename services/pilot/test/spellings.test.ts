// One model, one spelling: every kind Pilot reads, written with JSON names and with proto field
// names, goes YAML object -> Galley validation -> MCP Struct -> Pilot and gives identical Envoy output.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toProtoJson } from '@keel/proto';
import { generateProxyResources, TYPES } from '../src/generate/index.js';
import { buildPushContext } from '../src/model/push-context.js';
import {
  BOOKINFO_YAML,
  type KubeObject,
  podEntry,
  proxyFor,
  readObjects,
  routerNode,
  runCluster,
  sidecarNode,
  snapshotOf,
  toConfigEntries,
} from './fixtures/index.js';

/** camelCase keys -> proto field names; map keys in this table's data are lowercase, so they stay. */
function protoNames(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(protoNames);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), protoNames(x)]),
  );
}

const res = (apiVersion: string, kind: string, name: string, spec: unknown, namespace = 'default') => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace === '' ? {} : { namespace }) },
  spec,
});
const NET = 'networking.istio.io/v1alpha3';
const AUTHN = 'authentication.istio.io/v1alpha1';
const RBAC = 'rbac.istio.io/v1alpha1';

const CASES: Array<{ name: string; objects: KubeObject[] }> = [
  {
    name: 'VirtualService',
    objects: [
      res(NET, 'VirtualService', 'reviews', {
        hosts: ['reviews'],
        http: [
          {
            match: [{ headers: { 'end-user': { exact: 'jason' } }, sourceLabels: { app: 'productpage' } }],
            fault: { abort: { httpStatus: 500, percentage: { value: 50 } } },
            route: [{ destination: { host: 'reviews', subset: 'v2' } }],
          },
          {
            fault: { delay: { fixedDelay: '1m30s', percentage: { value: 10 } } },
            retries: { attempts: 3, perTryTimeout: '1.5s', retryOn: 'gateway-error,connect-failure' },
            timeout: '90s',
            corsPolicy: {
              allowOrigin: ['a.com'],
              allowMethods: ['GET'],
              maxAge: '1h',
              allowCredentials: true,
            },
            headers: { request: { set: { 'x-a': 'b' } }, response: { remove: ['x-c'] } },
            mirrorPercent: 50,
            mirror: { host: 'ratings' },
            route: [{ destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } }, weight: 100 }],
          },
        ],
      }),
      res(NET, 'DestinationRule', 'reviews', {
        host: 'reviews',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      }),
    ],
  },
  {
    name: 'DestinationRule',
    objects: [
      res(NET, 'DestinationRule', 'reviews', {
        host: 'reviews.default.svc.cluster.local',
        trafficPolicy: {
          connectionPool: {
            tcp: {
              maxConnections: 10,
              connectTimeout: '500ms',
              tcpKeepalive: { time: '1h', interval: '90s' },
            },
            http: { http1MaxPendingRequests: 5, maxRequestsPerConnection: 2, idleTimeout: '1m30s' },
          },
          outlierDetection: {
            consecutiveErrors: 3,
            interval: '1.5s',
            baseEjectionTime: '1m30s',
            maxEjectionPercent: 20,
          },
          loadBalancer: { consistentHash: { httpCookie: { name: 'user', ttl: '500ms' } } },
          tls: { mode: 'ISTIO_MUTUAL' },
        },
        subsets: [
          { name: 'v1', labels: { version: 'v1' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } },
        ],
      }),
    ],
  },
  {
    name: 'Gateway',
    objects: [
      res(NET, 'Gateway', 'gw', {
        selector: { istio: 'ingressgateway' },
        servers: [
          {
            port: { number: 80, name: 'http', protocol: 'HTTP' },
            hosts: ['*'],
            tls: { httpsRedirect: true },
          },
          {
            port: { number: 443, name: 'https', protocol: 'HTTPS' },
            hosts: ['bookinfo.example.com'],
            tls: {
              mode: 'SIMPLE',
              serverCertificate: '/etc/c.pem',
              privateKey: '/etc/k.pem',
              minProtocolVersion: 'TLSV1_2',
            },
          },
        ],
      }),
      res(NET, 'VirtualService', 'gw-routes', {
        hosts: ['*'],
        gateways: ['gw'],
        http: [
          {
            match: [{ uri: { prefix: '/' } }],
            route: [{ destination: { host: 'productpage', port: { number: 9080 } } }],
          },
        ],
      }),
    ],
  },
  {
    name: 'ServiceEntry',
    objects: [
      res(NET, 'ServiceEntry', 'ext', {
        hosts: ['api.example.com'],
        ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }],
        resolution: 'DNS',
        location: 'MESH_EXTERNAL',
        exportTo: ['*'],
      }),
    ],
  },
  {
    name: 'Sidecar',
    objects: [
      res(NET, 'Sidecar', 'default', {
        egress: [{ hosts: ['./reviews.default.svc.cluster.local'] }],
        outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      }),
    ],
  },
  {
    name: 'EnvoyFilter',
    objects: [
      res(NET, 'EnvoyFilter', 'lua', {
        workloadSelector: { labels: { app: 'productpage' } },
        configPatches: [
          {
            applyTo: 'HTTP_FILTER',
            match: {
              context: 'SIDECAR_INBOUND',
              listener: {
                portNumber: 9080,
                filterChain: {
                  filter: { name: 'envoy.http_connection_manager', subFilter: { name: 'envoy.router' } },
                },
              },
            },
            patch: {
              operation: 'INSERT_BEFORE',
              value: { name: 'envoy.fault', config: { maxActiveFaults: { value: 5 } } },
            },
          },
        ],
      }),
    ],
  },
  {
    name: 'Policy',
    objects: [
      res(AUTHN, 'Policy', 'productpage', {
        targets: [{ name: 'productpage', ports: [{ number: 9080 }] }],
        peers: [{ mtls: { mode: 'STRICT' } }],
        peerIsOptional: true,
        origins: [{ jwt: { issuer: 'i', jwksUri: 'https://jwks.example.com/keys', jwtHeaders: ['x-jwt'] } }],
        originIsOptional: true,
        principalBinding: 'USE_ORIGIN',
      }),
    ],
  },
  {
    name: 'MeshPolicy',
    objects: [
      res(AUTHN, 'MeshPolicy', 'default', { peers: [{ mtls: { mode: 'PERMISSIVE', allowTls: true } }] }, ''),
    ],
  },
  {
    name: 'ServiceRole, ServiceRoleBinding, ClusterRbacConfig',
    objects: [
      res(
        RBAC,
        'ClusterRbacConfig',
        'default',
        { mode: 'ON_WITH_INCLUSION', inclusion: { namespaces: ['default'] }, enforcementMode: 'ENFORCED' },
        '',
      ),
      res(RBAC, 'ServiceRole', 'viewer', {
        rules: [
          {
            services: ['*'],
            methods: ['GET'],
            notPaths: ['/admin'],
            constraints: [{ key: 'destination.port', values: ['9080'] }],
          },
        ],
      }),
      res(RBAC, 'ServiceRoleBinding', 'viewer', {
        subjects: [{ user: 'cluster.local/ns/default/sa/x', notNamespaces: ['evil'] }],
        roleRef: { kind: 'ServiceRole', name: 'viewer' },
      }),
    ],
  },
  {
    name: 'RbacConfig',
    objects: [
      res(RBAC, 'RbacConfig', 'default', { mode: 'ON_WITH_EXCLUSION', exclusion: { namespaces: ['other'] } }),
    ],
  },
  {
    name: 'AuthorizationPolicy',
    objects: [
      res('security.istio.io/v1beta1', 'AuthorizationPolicy', 'pp', {
        selector: { matchLabels: { app: 'productpage' } },
        rules: [
          {
            from: [
              {
                source: {
                  principals: ['cluster.local/ns/default/sa/x'],
                  requestPrincipals: ['i/s'],
                  ipBlocks: ['10.0.0.0/8'],
                },
              },
            ],
            to: [{ operation: { methods: ['GET'], paths: ['/p'] } }],
            when: [{ key: 'request.headers[x-token]', values: ['t'] }],
          },
        ],
      }),
    ],
  },
];

const CLUSTER = runCluster(readObjects([BOOKINFO_YAML]));

/** Sidecar productpage-v1 and an ingress gateway, as proto JSON. */
function envoyOutput(objects: KubeObject[]): string {
  const store = snapshotOf(toConfigEntries([...CLUSTER, ...objects]));
  const push = buildPushContext(store);
  const out = [
    generateProxyResources(push, proxyFor(push, sidecarNode(podEntry(store, 'productpage-v1-0')))),
    generateProxyResources(push, proxyFor(push, routerNode({ ip: '10.40.1.1' }))),
  ].map((r) => ({
    clusters: r.clusters.map((c) => toProtoJson(TYPES.cluster, c)),
    listeners: r.listeners.map((l) => toProtoJson(TYPES.listener, l)),
    routes: r.routes.map((x) => toProtoJson(TYPES.route, x)),
  }));
  return JSON.stringify(out, null, 1);
}

describe('proto field names and JSON names give identical Envoy resources', () => {
  const baseline = envoyOutput([]);
  for (const tc of CASES) {
    it(tc.name, () => {
      const json = envoyOutput(tc.objects);
      const proto = envoyOutput(tc.objects.map((o) => ({ ...o, spec: protoNames(o.spec) })));
      assert.notEqual(json, baseline, 'the config changes the output (else the comparison proves nothing)');
      assert.equal(proto, json);
    });
  }
  it('the proto-named fault reaches Envoy (abort http_status 500)', () => {
    const out = envoyOutput(CASES[0]!.objects.map((o) => ({ ...o, spec: protoNames(o.spec) })));
    assert.match(out, /"httpStatus": 500/);
    assert.match(out, /"timeout": "90s"/);
    assert.match(out, /"perTryTimeout": "1.500s"/);
  });
});
