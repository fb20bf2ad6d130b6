import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coreCollections, istioCollections, kindByCollection, kindFor, kinds } from '../src/index.js';

const LEGACY =
  'apikeys authorizations bypasses checknothings circonuses cloudwatches deniers dogstatsds edges fluentds kuberneteses kubernetesenvs listcheckers listentries logentries memquotas metrics noops opas prometheuses quotas rbacs redisquotas reportnothings signalfxs solarwindses stackdrivers statsds stdios tracespans zipkins'.split(
    ' ',
  );

/** Galley's default snapshot istio/... collections, written out from spec section 2.3. */
const SPEC_COLLECTIONS = [
  ...['meshpolicies', 'policies'].map((p) => `istio/authentication/v1alpha1/${p}`),
  ...['destinationrules', 'envoyfilters', 'gateways', 'serviceentries', 'sidecars', 'virtualservices'].map(
    (p) => `istio/networking/v1alpha3/${p}`,
  ),
  ...['clusterrbacconfigs', 'rbacconfigs', 'servicerolebindings', 'serviceroles'].map(
    (p) => `istio/rbac/v1alpha1/${p}`,
  ),
  'istio/security/v1beta1/authorizationpolicies',
  ...['adapters', 'httpapispecs', 'httpapispecbindings', 'templates'].map(
    (p) => `istio/config/v1alpha2/${p}`,
  ),
  'istio/mixer/v1/config/client/quotaspecbindings',
  'istio/mixer/v1/config/client/quotaspecs',
  ...['attributemanifests', 'handlers', 'instances', 'rules'].map((p) => `istio/policy/v1beta1/${p}`),
  'istio/mesh/v1alpha1/MeshConfig',
  ...LEGACY.map((p) => `istio/config/v1alpha2/legacy/${p}`),
];

test('istioCollections() is exactly the default snapshot of spec 2.3', () => {
  assert.deepEqual(istioCollections(), [...SPEC_COLLECTIONS].sort());
});

test('coreCollections() lists the k8s core inputs', () => {
  assert.deepEqual(
    coreCollections().sort(),
    ['endpoints', 'namespaces', 'nodes', 'pods', 'services'].map((p) => `k8s/core/v1/${p}`),
  );
});

test('lookups by apiVersion/kind and by collection agree', () => {
  for (const k of kinds) {
    assert.equal(kindFor(k.apiVersion, k.kind), k);
    assert.equal(kindByCollection(k.collection), k);
  }
  assert.equal(kindFor('networking.istio.io/v1alpha3', 'virtualservice'), undefined);
  assert.equal(kindFor('v1', 'Deployment'), undefined);
});

test('type names, scopes, webhooks and quirks', () => {
  const mesh = kindFor('authentication.istio.io/v1alpha1', 'MeshPolicy')!;
  assert.equal(mesh.typeName, 'istio.authentication.v1alpha1.Policy');
  assert.equal(mesh.clusterScoped, true);
  assert.equal(mesh.webhook, 'pilot');
  const srb = kindFor('rbac.istio.io/v1alpha1', 'ServiceRoleBinding')!;
  assert.equal(srb.sourceCollection, 'k8s/rbac.istio.io/v1alpha1/policy');
  assert.equal(
    kindFor('rbac.istio.io/v1alpha1', 'ClusterRbacConfig')?.typeName,
    'istio.rbac.v1alpha1.RbacConfig',
  );
  assert.equal(kindFor('rbac.istio.io/v1alpha1', 'ClusterRbacConfig')?.clusterScoped, true);
  const vs = kindFor('networking.istio.io/v1alpha3', 'VirtualService')!;
  assert.equal(vs.typeName, 'istio.networking.v1alpha3.VirtualService');
  assert.equal(vs.sourceCollection, 'k8s/networking.istio.io/v1alpha3/virtualservices');
  assert.equal(kindFor('config.istio.io/v1alpha2', 'rule')?.typeName, 'istio.policy.v1beta1.Rule');
  assert.equal(kindFor('config.istio.io/v1alpha2', 'rule')?.webhook, 'mixer');
  assert.equal(
    kindFor('config.istio.io/v1alpha2', 'QuotaSpec')?.collection,
    'istio/mixer/v1/config/client/quotaspecs',
  );
  assert.equal(kindFor('config.istio.io/v1alpha2', 'QuotaSpec')?.webhook, 'pilot');
  assert.equal(kindFor('config.istio.io/v1alpha2', 'adapter')?.typeName, 'google.protobuf.Struct');
  const svc = kindFor('v1', 'Service')!;
  assert.equal(svc.typeName, 'k8s.io.api.core.v1.Service');
  assert.equal(svc.collection, 'k8s/core/v1/services');
  assert.equal(svc.webhook, undefined);
  assert.equal(kindFor('v1', 'Namespace')?.clusterScoped, true);
  assert.equal(kindFor('v1', 'ConfigMap')?.served, false);
});

test('legacy Mixer kinds use the singular adapter/template name as kind', () => {
  for (const [plural, kind] of [
    ['kuberneteses', 'kubernetes'],
    ['prometheuses', 'prometheus'],
    ['metrics', 'metric'],
    ['deniers', 'denier'],
    ['kubernetesenvs', 'kubernetesenv'],
    ['solarwindses', 'solarwinds'],
  ]) {
    const k = kindByCollection(`istio/config/v1alpha2/legacy/${plural}`);
    assert.equal(k?.kind, kind);
    assert.equal(k?.apiVersion, 'config.istio.io/v1alpha2');
    assert.equal(k?.sourceCollection, `k8s/config.istio.io/v1alpha2/${plural}`);
    assert.equal(k?.typeName, 'google.protobuf.Struct');
  }
  assert.equal(kinds.filter((k) => k.collection.includes('/legacy/')).length, LEGACY.length);
});
