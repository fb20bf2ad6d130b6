import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { protocolFromPortName } from '../src/model/protocol.js';
import { parseNode } from '../src/model/proxy.js';
import { buildPushContext } from '../src/model/push-context.js';
import { serviceEntryRegistry } from '../src/model/registry.js';
import type { ConfigEntry } from '../src/model/types.js';
import {
  DEFAULT_MESH,
  makeBookinfoMesh,
  podEntry,
  proxyFor,
  routerNode,
  sidecarNode,
  snapshotOf,
  toConfigEntry,
} from './fixtures/index.js';

let seq = 1000;
function entry(
  kind: string,
  name: string,
  namespace: string,
  spec: Record<string, unknown>,
  meta: Record<string, unknown> = {},
): ConfigEntry {
  const istio = !['Service', 'Endpoints', 'Pod'].includes(kind);
  return toConfigEntry(
    {
      apiVersion: istio ? 'networking.istio.io/v1alpha3' : 'v1',
      kind,
      metadata: { name, namespace, ...meta },
      ...(istio ? { spec } : spec),
    },
    seq++,
  );
}

describe('protocolFromPortName', () => {
  const cases: Array<[string, number, string | undefined, string]> = [
    ['http', 80, undefined, 'HTTP'],
    ['http-web', 8080, undefined, 'HTTP'],
    ['HTTP2', 80, undefined, 'HTTP2'],
    ['grpc', 9000, undefined, 'GRPC'],
    ['grpc-web', 9000, undefined, 'GRPC-Web'],
    ['grpc-web-x', 9000, undefined, 'GRPC-Web'],
    ['https-admin', 443, undefined, 'HTTPS'],
    ['tcp', 1, undefined, 'TCP'],
    ['tls', 1, undefined, 'TLS'],
    ['mongo', 27017, undefined, 'Mongo'],
    ['redis', 6379, undefined, 'Redis'],
    ['mysql', 3306, undefined, 'MySQL'],
    ['udp', 53, undefined, 'UDP'],
    ['dns', 53, 'UDP', 'UDP'],
    ['', 25, undefined, 'TCP'],
    ['', 53, undefined, 'TCP'],
    ['', 3306, undefined, 'TCP'],
    ['', 27017, undefined, 'TCP'],
    ['', 8080, undefined, 'Unsupported'],
    ['web', 80, undefined, 'Unsupported'],
    ['httpx', 80, undefined, 'Unsupported'],
  ];
  for (const [name, port, proto, want] of cases) {
    it(`${name || '(unnamed)'}:${port}${proto ? `/${proto}` : ''} -> ${want}`, () => {
      assert.equal(protocolFromPortName(name, port, proto), want);
    });
  }
});

describe('serviceEntryRegistry', () => {
  const opts = { domain: 'cluster.local', trustDomain: 'cluster.local', mesh: DEFAULT_MESH };
  const cases: Array<{
    name: string;
    spec: Record<string, unknown>;
    resolution: string;
    endpoints: string[];
  }> = [
    {
      name: 'NONE',
      spec: { hosts: ['a.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'NONE' },
      resolution: 'Passthrough',
      endpoints: [],
    },
    {
      name: 'STATIC',
      spec: {
        hosts: ['b.com'],
        addresses: ['10.9.0.1'],
        ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
        resolution: 'STATIC',
        endpoints: [
          { address: '1.1.1.1', ports: { http: 8080 }, locality: 'r1/z1/s1', weight: 3, network: 'n1' },
          { address: '2.2.2.2' },
        ],
      },
      resolution: 'ClientSideLB',
      endpoints: ['1.1.1.1:8080', '2.2.2.2:80'],
    },
    {
      name: 'DNS',
      spec: {
        hosts: ['c.com'],
        ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }],
        resolution: 'DNS',
      },
      resolution: 'DNSLB',
      endpoints: ['c.com:443'],
    },
  ];
  for (const tc of cases) {
    it(`resolution ${tc.name}`, () => {
      const view = serviceEntryRegistry([entry('ServiceEntry', tc.name.toLowerCase(), 'ns', tc.spec)], opts);
      assert.ok(
        view.services.every((s) => s.resolution === tc.resolution && s.namespace === 'ns' && s.meshExternal),
      );
      assert.deepEqual(
        view.endpoints.map((e) => `${e.address}:${e.port}`),
        tc.endpoints,
      );
    });
  }
  it('maps addresses, location, exportTo, SANs and endpoint details', () => {
    const view = serviceEntryRegistry(
      [
        entry('ServiceEntry', 'x', 'ns', {
          ...cases[1]!.spec,
          location: 'MESH_INTERNAL',
          exportTo: ['.'],
          subjectAltNames: ['spiffe://x'],
        }),
      ],
      opts,
    );
    const [svc] = view.services;
    assert.equal(svc!.address, '10.9.0.1');
    assert.equal(svc!.meshExternal, false);
    assert.deepEqual(svc!.exportTo, ['.']);
    assert.deepEqual(svc!.serviceAccounts, ['spiffe://x']);
    const ep = view.endpoints[0]!;
    assert.deepEqual(ep.locality, { region: 'r1', zone: 'z1', subzone: 's1' });
    assert.equal(ep.weight, 3);
    assert.equal(ep.network, 'n1');
    assert.equal(view.endpoints[1]!.weight, 1);
  });
});

describe('kubernetes registry (bookinfo)', () => {
  const store = makeBookinfoMesh();
  const push = buildPushContext(store);
  it('builds hostnames, ClientSideLB with the ClusterIP, SPIFFE accounts from pods', () => {
    assert.deepEqual(
      push.services.map((s) => s.hostname),
      ['details', 'productpage', 'ratings', 'reviews'].map((s) => `${s}.default.svc.cluster.local`),
    );
    const reviews = push.serviceByHost.get('reviews.default.svc.cluster.local')!;
    assert.equal(reviews.resolution, 'ClientSideLB');
    assert.equal(reviews.address, '10.0.0.4');
    assert.deepEqual(reviews.ports, [{ name: 'http', port: 9080, protocol: 'HTTP' }]);
    assert.deepEqual(reviews.serviceAccounts, ['spiffe://cluster.local/ns/default/sa/bookinfo-reviews']);
    const eps = push.endpointsByHost.get(reviews.hostname)!;
    assert.equal(eps.length, 3);
    assert.ok(
      eps.every(
        (e) =>
          e.tlsMode === 'istio' &&
          e.serviceAccount === 'bookinfo-reviews' &&
          e.locality.zone === 'us-east1-b',
      ),
    );
  });
  it('maps headless, ExternalName and the exportTo annotation', () => {
    const objs = [
      entry('Service', 'h', 'a', { spec: { clusterIP: 'None', ports: [{ port: 3306 }] } }),
      entry('Service', 'e', 'a', {
        spec: { type: 'ExternalName', externalName: 'db.example.com', ports: [{ name: 'tcp', port: 5432 }] },
      }),
      entry(
        'Service',
        'p',
        'a',
        { spec: { clusterIP: '10.1.1.1', ports: [{ name: 'http', port: 80 }] } },
        { annotations: { 'networking.istio.io/exportTo': '.' } },
      ),
    ];
    const p = buildPushContext(snapshotOf(objs));
    const h = p.serviceByHost.get('h.a.svc.cluster.local')!;
    assert.equal(h.resolution, 'Passthrough');
    assert.equal(h.address, '0.0.0.0');
    assert.equal(h.ports[0]!.protocol, 'TCP');
    const e = p.serviceByHost.get('e.a.svc.cluster.local')!;
    assert.equal(e.resolution, 'DNSLB');
    assert.equal(p.endpointsByHost.get(e.hostname)![0]!.address, 'db.example.com');
    assert.deepEqual(p.serviceByHost.get('p.a.svc.cluster.local')!.exportTo, ['.']);
  });
});

describe('parseNode', () => {
  const store = makeBookinfoMesh();
  const push = buildPushContext(store);
  it('resolves a sidecar: IPs, namespace, labels, instances, locality', () => {
    const proxy = proxyFor(push, sidecarNode(podEntry(store, 'reviews-v2-0')));
    assert.equal(proxy.type, 'sidecar');
    assert.equal(proxy.ip, '10.40.0.5');
    assert.equal(proxy.namespace, 'default');
    assert.equal(proxy.labels.version, 'v2');
    assert.equal(proxy.generator, 'envoy');
    assert.deepEqual(
      proxy.serviceInstances.map((i) => `${i.service.hostname}:${i.servicePort.port}`),
      ['reviews.default.svc.cluster.local:9080'],
    );
    assert.equal(proxy.locality.zone, 'us-east1-b');
    assert.equal(proxy.workload?.name, 'reviews-v2-0');
  });
  it('falls back to the id for IP and namespace, pod labels, LABELS as JSON, GENERATOR grpc, istio-locality', () => {
    const a = proxyFor(push, { id: 'sidecar~10.40.0.1~details-v1-0.default~default.svc.cluster.local' });
    assert.equal(a.namespace, 'default');
    assert.equal(a.labels.app, 'details');
    const b = proxyFor(push, {
      id: 'sidecar~10.9.9.9~x.other~other.svc.cluster.local',
      metadata: {
        LABELS: '{"app":"x"}',
        GENERATOR: 'grpc',
        'istio-locality': 'r/z/s',
        CONFIG_NAMESPACE: 'cfg',
      },
    });
    assert.deepEqual(b.labels, { app: 'x' });
    assert.equal(b.generator, 'grpc');
    assert.deepEqual(b.locality, { region: 'r', zone: 'z', subzone: 's' });
    assert.equal(b.namespace, 'cfg');
    assert.equal(proxyFor(push, routerNode({ ip: '10.50.0.1' })).type, 'router');
  });
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['ingress~1.1.1.1~a.b~b.svc.cluster.local', {}, /invalid node type "ingress"/],
    ['sidecar~1.1.1.1~a.b', {}, /want type~ip~id~domain/],
    ['sidecar~~a.b~b.svc.cluster.local', {}, /no IP/],
    ['sidecar~1.1.1.1~nonamespace~x', {}, /no namespace/],
    ['sidecar~1.1.1.1~a.b~b.svc.cluster.local', { LABELS: '{oops' }, /LABELS is not a JSON object/],
  ];
  for (const [id, metadata, re] of bad) {
    it(`rejects ${id} ${JSON.stringify(metadata)}`, () => {
      const r = parseNode({ id, metadata }, push);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.errors, re);
    });
  }
});

describe('SidecarScope', () => {
  const svc = (name: string, ns: string, exportTo?: string) =>
    entry(
      'Service',
      name,
      ns,
      { spec: { clusterIP: `10.2.${seq % 250}.1`, ports: [{ name: 'http', port: 80 }] } },
      exportTo ? { annotations: { 'networking.istio.io/exportTo': exportTo } } : {},
    );
  const dr = (name: string, ns: string, spec: Record<string, unknown>) =>
    entry('DestinationRule', name, ns, spec);
  const node = (ns: string, labels: Record<string, string> = {}) => ({
    id: `sidecar~10.99.0.1~p.${ns}~${ns}.svc.cluster.local`,
    metadata: { LABELS: labels },
  });
  const base = [svc('a', 'ns1'), svc('b', 'ns2'), svc('c', 'ns2', '.'), svc('d', 'istio-system')];
  const hosts = (entries: ConfigEntry[], ns: string, labels: Record<string, string> = {}) => {
    const push = buildPushContext(snapshotOf(entries));
    return push
      .sidecarScope(proxyFor(push, node(ns, labels)))
      .services.map((s) => s.hostname.split('.').slice(0, 2).join('.'));
  };

  it('without a Sidecar sees everything exported to its namespace', () => {
    assert.deepEqual(hosts(base, 'ns1'), ['a.ns1', 'b.ns2', 'd.istio-system']);
    assert.deepEqual(hosts(base, 'ns2'), ['a.ns1', 'b.ns2', 'c.ns2', 'd.istio-system']);
  });
  const egressCases: Array<[string, string[], string[]]> = [
    ['./*', ['./*'], ['a.ns1']],
    ['ns2/*', ['ns2/*'], ['b.ns2']],
    ['*/b.ns2...', ['*/b.ns2.svc.cluster.local'], ['b.ns2']],
    ['wildcard dns', ['*/*.ns2.svc.cluster.local'], ['b.ns2']],
    ['~/* hides all', ['~/*'], []],
    ['*/* respects exportTo', ['*/*'], ['a.ns1', 'b.ns2', 'd.istio-system']],
  ];
  for (const [name, egressHosts, want] of egressCases) {
    it(`namespace Sidecar egress ${name}`, () => {
      const sc = entry('Sidecar', 'default', 'ns1', { egress: [{ hosts: egressHosts }] });
      assert.deepEqual(hosts([...base, sc], 'ns1'), want);
    });
  }
  it('prefers a selector match, then the namespace default, then the root default', () => {
    const root = entry('Sidecar', 'root', 'istio-system', { egress: [{ hosts: ['istio-system/*'] }] });
    const nsDefault = entry('Sidecar', 'plain', 'ns1', { egress: [{ hosts: ['./*'] }] });
    const selected = entry('Sidecar', 'sel', 'ns1', {
      workloadSelector: { labels: { app: 'x' } },
      egress: [{ hosts: ['ns2/*'] }],
    });
    assert.deepEqual(hosts([...base, root], 'ns1'), ['d.istio-system']);
    assert.deepEqual(hosts([...base, root, nsDefault, selected], 'ns1'), ['a.ns1']);
    assert.deepEqual(hosts([...base, root, nsDefault, selected], 'ns1', { app: 'x' }), ['b.ns2']);
    const push = buildPushContext(snapshotOf([...base, root]));
    const a = push.sidecarScope(proxyFor(push, node('ns1')));
    assert.equal(
      a,
      push.sidecarScope(proxyFor(push, node('ns1', { other: 'y' }))),
      'equal keys share one scope',
    );
    assert.notEqual(a.key, push.sidecarScope(proxyFor(push, node('ns2'))).key);
  });
  it('filters mesh VirtualServices by gateways and exportTo', () => {
    const vs = (name: string, ns: string, spec: Record<string, unknown>) =>
      entry('VirtualService', name, ns, {
        hosts: ['a.ns1.svc.cluster.local'],
        http: [{ route: [{ destination: { host: 'a.ns1.svc.cluster.local' } }] }],
        ...spec,
      });
    const entries = [
      ...base,
      vs('mesh', 'ns1', {}),
      vs('gw', 'ns1', { gateways: ['gw'] }),
      vs('both', 'ns1', { gateways: ['gw', 'mesh'] }),
      vs('private', 'ns1', { exportTo: ['.'] }),
    ];
    const push = buildPushContext(snapshotOf(entries));
    const names = (ns: string) =>
      push.sidecarScope(proxyFor(push, node(ns))).virtualServices.map((v) => v.name);
    assert.deepEqual(names('ns1'), ['mesh', 'both', 'private']);
    assert.deepEqual(names('ns2'), ['mesh', 'both']);
  });

  describe('DestinationRule lookup', () => {
    const rules = [
      dr('root-wild', 'istio-system', { host: '*.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } }),
      dr('svc-ns', 'ns2', { host: 'b', subsets: [{ name: 'v1' }] }),
      dr('svc-ns-private', 'ns2', {
        host: '*.ns2.svc.cluster.local',
        exportTo: ['.'],
        subsets: [{ name: 'private' }],
      }),
      dr('proxy-ns', 'ns3', { host: '*.svc.cluster.local', subsets: [{ name: 'mine' }] }),
      dr('merge-1', 'ns1', { host: 'a', subsets: [{ name: 'v1' }] }),
      dr('merge-2', 'ns1', {
        host: 'a.ns1.svc.cluster.local',
        trafficPolicy: { loadBalancer: { simple: 'RANDOM' } },
        subsets: [{ name: 'v1' }, { name: 'v2' }],
      }),
      dr('merge-3', 'ns1', { host: 'a', trafficPolicy: { loadBalancer: { simple: 'LEAST_CONN' } } }),
    ];
    const push = buildPushContext(snapshotOf([...base, ...rules]));
    const lookup = (ns: string, host: string) =>
      push.sidecarScope(proxyFor(push, node(ns))).destinationRule(host);
    const cases: Array<[string, string, string, string | undefined]> = [
      ['proxy namespace first', 'ns3', 'b.ns2.svc.cluster.local', 'proxy-ns'],
      ['then the service namespace (exported only)', 'ns1', 'b.ns2.svc.cluster.local', 'svc-ns'],
      ['private rules only for their namespace', 'ns2', 'c.ns2.svc.cluster.local', 'svc-ns-private'],
      ['exact beats wildcard in one namespace', 'ns2', 'b.ns2.svc.cluster.local', 'svc-ns'],
      ['then the root namespace', 'ns1', 'd.istio-system.svc.cluster.local', 'root-wild'],
      ['root proxies skip the local step', 'istio-system', 'c.ns2.svc.cluster.local', 'root-wild'],
      ['nothing for non-matching hosts', 'ns1', 'example.com', undefined],
    ];
    for (const [name, ns, host, want] of cases) {
      it(name, () => assert.equal(lookup(ns, host)?.name, want));
    }
    it('merges rules for one host: subsets concatenated (no duplicates), first trafficPolicy kept', () => {
      const merged = lookup('ns1', 'a.ns1.svc.cluster.local')!;
      assert.equal(merged.name, 'merge-1');
      assert.deepEqual(
        merged.spec.subsets.map((s: { name: string }) => s.name),
        ['v1', 'v2'],
      );
      assert.deepEqual(merged.spec.trafficPolicy, { loadBalancer: { simple: 'RANDOM' } });
    });
  });
});
