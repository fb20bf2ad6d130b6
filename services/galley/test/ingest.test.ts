import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfigError, parseDocuments } from '@keel/config';
import { unpackStruct } from '@keel/proto';
import { Ingestor } from '../src/ingest.js';
import { buildSnapshot } from '../src/snapshot.js';
import { ResourceStore } from '../src/store.js';

const VS = 'istio/networking/v1alpha3/virtualservices';
const DR = 'istio/networking/v1alpha3/destinationrules';

function vs(name: string, host: string, extra = ''): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: ${name}
  namespace: default
spec:
  hosts: [${host}]
  http:
  - route:
    - destination:
        host: ${host}
${extra}`;
}

function setup() {
  const store = new ResourceStore();
  const rejected: ConfigError[] = [];
  const ingestor = new Ingestor(store, { accepted: () => {}, rejected: (e) => rejected.push(...e) });
  const apply = (file: string, text: string) => {
    const p = parseDocuments(text, file);
    return ingestor.applyOriginSet(file, p.resources, p.errors);
  };
  return { store, rejected, ingestor, apply };
}

describe('Ingestor', () => {
  it('accepts valid documents and rejects invalid ones in the same file', () => {
    const { store, rejected, apply } = setup();
    const s = apply('a.yaml', [vs('good', 'reviews'), vs('bad', 'foo.ba!r')].join('---\n'));
    assert.deepEqual(s, { accepted: 1, rejected: 1, removed: 0 });
    assert.deepEqual(
      store.entries(VS).map((e) => e.resource.metadata.name),
      ['good'],
    );
    assert.ok(rejected.length >= 1);
    assert.ok(
      rejected.every((e) => e.name === 'bad'),
      'only the bad document is rejected',
    );
    assert.equal(rejected[0]!.source?.file, 'a.yaml');
    assert.match(rejected[0]!.message, /domain name "foo.ba!r" invalid/);
  });

  it('never replaces the last accepted version with an invalid one', () => {
    const { store, apply } = setup();
    apply('a.yaml', vs('r', 'reviews'));
    const before = store.get(VS, 'default/r')!;
    const s = apply('a.yaml', vs('r', 'bad!host'));
    assert.equal(s.rejected, 1);
    assert.equal(s.removed, 0, 'a rejected update must not delete the resource');
    assert.equal(store.get(VS, 'default/r'), before);
  });

  it('removes what a file no longer defines, but not when a document is unparseable', () => {
    const { store, apply } = setup();
    apply('a.yaml', [vs('one', 'a'), vs('two', 'b')].join('---\n'));
    assert.equal(store.entries(VS).length, 2);
    apply('a.yaml', `${vs('one', 'a')}---\nkind: [unclosed\n`);
    assert.equal(store.entries(VS).length, 2, 'a syntax error keeps the previous set');
    const s = apply('a.yaml', vs('one', 'a'));
    assert.equal(s.removed, 1);
    assert.deepEqual(
      store.entries(VS).map((e) => e.resource.metadata.name),
      ['one'],
    );
  });

  it('defaults the namespace and drops it for cluster-scoped kinds', () => {
    const { store, apply } = setup();
    apply(
      'b.yaml',
      `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews}
spec: {host: reviews}
---
apiVersion: authentication.istio.io/v1alpha1
kind: MeshPolicy
metadata: {name: default, namespace: istio-config}
spec: {peers: [{mtls: {}}]}
`,
    );
    assert.ok(store.get(DR, 'default/reviews'));
    assert.ok(store.get('istio/authentication/v1alpha1/meshpolicies', 'default'));
  });

  it('builds snapshots with every served collection and Struct bodies', () => {
    const { store, apply } = setup();
    apply('a.yaml', vs('r', 'reviews'));
    const snap = buildSnapshot(
      store,
      [VS, DR, 'istio/mesh/v1alpha1/MeshConfig'],
      { rootNamespace: 'istio-system' },
      '7',
    );
    assert.equal(snap.version, '7');
    assert.deepEqual(snap.collections.get(DR), []);
    const [r] = snap.collections.get(VS)!;
    assert.equal(r!.metadata.name, 'default/r');
    assert.deepEqual(unpackStruct(r!.body).hosts, ['reviews']);
    const mesh = snap.collections.get('istio/mesh/v1alpha1/MeshConfig')!;
    assert.equal(mesh[0]!.metadata.name, 'istio-system/meshconfig');
  });
});

describe('Galley serves the normalized spec', () => {
  it('proto field names and Go durations are served as JSON names and Duration JSON', () => {
    const { store, rejected, apply } = setup();
    apply(
      'snake.yaml',
      `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: snake, namespace: default}
spec:
  hosts: [reviews]
  http:
  - fault: {abort: {http_status: 500, percentage: {value: 10}}}
    retries: {attempts: 2, per_try_timeout: 1m30s}
    timeout: 1.5s
    route:
    - destination: {host: reviews}
---
apiVersion: authentication.istio.io/v1alpha1
kind: Policy
metadata: {name: default, namespace: default}
spec:
  peers:
  - mtls:
  peer_is_optional: true
  origins:
  - jwt: {issuer: i, jwks_uri: "https://example.com/keys"}
`,
    );
    assert.deepEqual(rejected, []);
    const snap = buildSnapshot(store, [VS, 'istio/authentication/v1alpha1/policies'], {}, 'v1');
    const body = (c: string) => unpackStruct(snap.collections.get(c)![0]!.body);
    assert.deepEqual(body(VS).http, [
      {
        fault: { abort: { httpStatus: 500, percentage: { value: 10 } } },
        retries: { attempts: 2, perTryTimeout: '90s' },
        timeout: '1.500s',
        route: [{ destination: { host: 'reviews' } }],
      },
    ]);
    assert.deepEqual(body('istio/authentication/v1alpha1/policies'), {
      peers: [{ mtls: {} }],
      peerIsOptional: true,
      origins: [{ jwt: { issuer: 'i', jwksUri: 'https://example.com/keys' } }],
    });
  });
});
