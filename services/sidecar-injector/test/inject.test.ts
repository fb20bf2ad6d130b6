import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdmissionRequest } from '@keel/kube';
import fastJsonPatch from 'fast-json-patch';
import {
  buildInjector,
  type Injector,
  injectObject,
  injectRequired,
  parseInjectConfig,
  reviewInjection,
} from '../src/index.js';
import { type Obj, replicaSetPod, unitTestInjector } from './helpers.js';

const request = (object: unknown, extra: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  uid: 'uid-1',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  namespace: 'bookinfo',
  operation: 'CREATE',
  userInfo: {},
  object,
  ...extra,
});

function apply(pod: Obj, injector: Injector): Obj {
  const before = structuredClone(pod);
  const r = reviewInjection(injector, request(pod));
  assert.deepEqual(pod, before, 'the request object is not modified');
  assert.ok(r.decision.allowed, JSON.stringify(r.decision));
  return fastJsonPatch.applyPatch(structuredClone(pod), r.decision.patch ?? [], true, false).newDocument;
}

const envOf = (pod: Obj, name: string) =>
  pod.spec.containers.find((c: Obj) => c.name === 'istio-proxy').env.find((e: Obj) => e.name === name)?.value;

function withValues(injector: Injector, edit: (v: Obj) => void): Injector {
  const values = structuredClone(injector.values);
  edit(values);
  const r = buildInjector(injector.config, values, injector.mesh);
  assert.ok(r.ok);
  return r.value;
}

describe('injection decision (spec 5.1)', () => {
  const config = (policy: 'enabled' | 'disabled', extra = '') => {
    const r = parseInjectConfig(`policy: ${policy}\n${extra}template: "containers: []"\n`);
    assert.ok(r.ok, r.ok ? '' : r.errors.join());
    return r.value;
  };
  const pod = (annotations: Obj = {}, labels: Obj = {}, spec: Obj = {}) => ({
    metadata: { annotations, labels },
    spec: { containers: [], ...spec },
  });
  const cases: [string, ReturnType<typeof config>, Obj, string, boolean][] = [
    ['policy enabled injects by default', config('enabled'), pod(), 'default', true],
    ['policy disabled does not', config('disabled'), pod(), 'default', false],
    ['hostNetwork never', config('enabled'), pod({}, {}, { hostNetwork: true }), 'default', false],
    [
      'kube-system never',
      config('enabled'),
      pod({ 'sidecar.istio.io/inject': 'true' }),
      'kube-system',
      false,
    ],
    ['kube-public never', config('enabled'), pod(), 'kube-public', false],
    [
      'annotation true wins over disabled',
      config('disabled'),
      pod({ 'sidecar.istio.io/inject': 'true' }),
      'a',
      true,
    ],
    ['annotation "Yes" counts', config('disabled'), pod({ 'sidecar.istio.io/inject': 'Yes' }), 'a', true],
    ['annotation "on" counts', config('disabled'), pod({ 'sidecar.istio.io/inject': 'on' }), 'a', true],
    [
      'annotation false wins over enabled',
      config('enabled'),
      pod({ 'sidecar.istio.io/inject': 'false' }),
      'a',
      false,
    ],
    ['any other value is no', config('enabled'), pod({ 'sidecar.istio.io/inject': 'maybe' }), 'a', false],
    [
      'neverInjectSelector',
      config(
        'enabled',
        'neverInjectSelector:\n- matchExpressions:\n  - {key: openshift.io/build.name, operator: Exists}\n',
      ),
      pod({}, { 'openshift.io/build.name': 'b' }),
      'a',
      false,
    ],
    [
      'alwaysInjectSelector',
      config('disabled', 'alwaysInjectSelector:\n- matchLabels: {inject: always}\n'),
      pod({}, { inject: 'always' }),
      'a',
      true,
    ],
    [
      'the annotation beats the selectors',
      config('enabled', 'neverInjectSelector:\n- matchLabels: {app: x}\n'),
      pod({ 'sidecar.istio.io/inject': 'true' }, { app: 'x' }),
      'a',
      true,
    ],
  ];
  for (const [name, cfg, p, ns, want] of cases) {
    it(name, () => assert.equal(injectRequired(cfg, p, ns).inject, want));
  }

  it('bad config is rejected with every problem named', () => {
    const r = parseInjectConfig(
      'policy: sometimes\nneverInjectSelector: [{matchExpressions: [{key: a, operator: Near}]}]\n',
    );
    assert.ok(!r.ok);
    assert.match(r.errors.join('\n'), /config.policy: must be "enabled" or "disabled"/);
    assert.match(r.errors.join('\n'), /neverInjectSelector\[0\]: matchExpressions\[0\].operator/);
    assert.match(r.errors.join('\n'), /config.template: is missing/);
  });

  it('a template that does not compile is an error at load, not per request', async () => {
    const injector = await unitTestInjector();
    const r = buildInjector({ ...injector.config, template: 'containers:\n{{#if x}}\n- a\n' }, {});
    assert.ok(!r.ok);
    assert.match(r.errors[0]!, /config.template/);
  });
});

describe('template helpers', () => {
  it('a helper called with the wrong number of arguments fails the injection with its name', async () => {
    const injector = await unitTestInjector();
    const r = buildInjector(
      { ...injector.config, template: 'containers:\n- name: {{quote (valueOrDefault Values.x)}}\n' },
      {},
    );
    assert.ok(r.ok);
    const review = reviewInjection(r.value, request(replicaSetPod()));
    assert.equal(review.decision.allowed, false);
    assert.match(
      review.decision.allowed ? '' : review.decision.message,
      /valueOrDefault takes 2 argument\(s\), got 1/,
    );
  });
});

describe('webhook review', async () => {
  const injector = await unitTestInjector();

  it('a pod that must not be injected is allowed without a patch', () => {
    for (const pod of [
      replicaSetPod({ annotations: { 'sidecar.istio.io/inject': 'false' } }),
      replicaSetPod({ spec: { hostNetwork: true } }),
    ]) {
      const r = reviewInjection(injector, request(pod));
      assert.deepEqual(r.decision, { allowed: true });
      assert.equal(r.outcome, 'skipped');
    }
    const sys = reviewInjection(injector, request(replicaSetPod(), { namespace: 'kube-system' }));
    assert.deepEqual(sys.decision, { allowed: true });
    const notPod = reviewInjection(
      injector,
      request({}, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }),
    );
    assert.deepEqual(notPod.decision, { allowed: true });
  });

  it('a ReplicaSet pod is owned by its Deployment; probes are rewritten; the patch only adds', () => {
    const values = withValues(injector, (v) => {
      v.sidecarInjectorWebhook.rewriteAppHTTPProbe = true;
    });
    const pod = replicaSetPod();
    const out = apply(pod, values);
    assert.equal(envOf(out, 'ISTIO_META_WORKLOAD_NAME'), 'reviews-v1');
    assert.equal(
      envOf(out, 'ISTIO_META_OWNER'),
      'kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/reviews-v1',
    );
    const proxy = out.spec.containers.find((c: Obj) => c.name === 'istio-proxy');
    assert.ok(proxy.args.includes('reviews.$(POD_NAMESPACE)'));
    const secret = out.spec.volumes.find((v: Obj) => v.name === 'istio-certs').secret.secretName;
    assert.equal(secret, 'istio.bookinfo-reviews');
    const app = out.spec.containers[0];
    assert.deepEqual(app.readinessProbe, {
      httpGet: { path: '/app-health/reviews/readyz', port: 15020 },
      periodSeconds: 5,
    });
    assert.deepEqual(app.livenessProbe.httpGet, {
      path: '/app-health/reviews/livez',
      port: 15020,
      scheme: 'HTTP',
    });
    assert.deepEqual(JSON.parse(envOf(out, 'ISTIO_KUBE_APP_PROBERS')), {
      '/app-health/reviews/livez': { path: '/live', port: 9080, scheme: 'HTTPS' },
      '/app-health/reviews/readyz': { path: '/health', port: 9080 },
    });
    assert.equal(out.metadata.labels['security.istio.io/tlsMode'], 'istio');
  });

  it('injecting an injected pod gives an empty patch; an older template is replaced, not doubled', () => {
    const pod = replicaSetPod();
    const once = apply(pod, injector);
    const again = reviewInjection(injector, request(once));
    assert.deepEqual(again.decision, { allowed: true });
    // A newer template (different version) re-injects: the old sidecar goes, the new one comes.
    const newer = withValues(injector, (v) => {
      v.global.tag = '1.4.11';
    });
    const tpl = { ...newer, version: 'newer' };
    const twice = apply(once, tpl);
    const names = twice.spec.containers.map((c: Obj) => c.name);
    assert.deepEqual(names, ['reviews', 'istio-proxy']);
    assert.equal(twice.spec.initContainers.length, 1);
    assert.equal(twice.spec.volumes.length, 2);
    assert.match(twice.spec.containers[1].image, /proxyv2:1\.4\.11$/);
    assert.equal(JSON.parse(twice.metadata.annotations['sidecar.istio.io/status']).version, 'newer');
  });

  it('re-injection with probe rewriting starts from the app probes', () => {
    const rewrite = withValues(injector, (v) => {
      v.sidecarInjectorWebhook.rewriteAppHTTPProbe = true;
    });
    const once = apply(replicaSetPod(), rewrite);
    const twice = apply(once, { ...rewrite, version: 'other' });
    assert.equal(envOf(twice, 'ISTIO_KUBE_APP_PROBERS'), envOf(once, 'ISTIO_KUBE_APP_PROBERS'));
    assert.deepEqual(twice.spec.containers[0], once.spec.containers[0]);
  });

  it('bad annotations deny the pod with every problem named', () => {
    const pod = replicaSetPod({
      annotations: {
        'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/33',
        'traffic.sidecar.istio.io/excludeInboundPorts': '80,http',
        'sidecar.istio.io/interceptionMode': 'MAGIC',
        'readiness.status.sidecar.istio.io/periodSeconds': '-1',
      },
    });
    const r = reviewInjection(injector, request(pod));
    assert.equal(r.decision.allowed, false);
    const msg = r.decision.allowed ? '' : r.decision.message;
    for (const name of [
      'includeOutboundIPRanges',
      'excludeInboundPorts',
      'interceptionMode',
      'periodSeconds',
    ]) {
      assert.match(msg, new RegExp(name));
    }
  });

  it('absurdly deep pods and annotation JSON are refused with a reason, not a crash', () => {
    let deep: Obj = { leaf: 1 };
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const pod = replicaSetPod();
    pod.spec.containers[0].x = deep;
    const r = reviewInjection(injector, request(pod));
    assert.equal(r.decision.allowed, false);
    assert.match(r.decision.allowed ? '' : r.decision.message, /nests deeper than 64 levels/);
    const vol = `${'{"a":'.repeat(40)}{}${'}'.repeat(40)}`;
    const r2 = reviewInjection(
      injector,
      request(replicaSetPod({ annotations: { 'sidecar.istio.io/userVolume': `{"v":${vol}}` } })),
    );
    assert.match(r2.decision.allowed ? '' : r2.decision.message, /userVolume: nests deeper than 16 levels/);
  });

  it('annotation values cannot break out of the YAML (they are quoted)', () => {
    const pod = replicaSetPod({
      annotations: { 'sidecar.istio.io/discoveryAddress': 'pilot:15010"\n  - --evil\n  x: "' },
      labels: { app: 'a"\nb: c' },
    });
    const out = apply(pod, injector);
    const proxy = out.spec.containers.find((c: Obj) => c.name === 'istio-proxy');
    assert.ok(!proxy.args.includes('--evil'));
    assert.ok(proxy.args.includes('pilot:15010"\n  - --evil\n  x: "'));
  });

  it('SDS values mount the UDS and token, set fsGroup; TPROXY runs the proxy as root with NET_ADMIN', () => {
    const sds = withValues(injector, (v) => {
      v.global.sds.enabled = true;
      v.global.imagePullSecrets = ['regcred'];
      v.global.podDNSSearchNamespaces = ['global', '{{DeploymentMeta.namespace}}.global'];
    });
    const out = apply(replicaSetPod({ annotations: { 'sidecar.istio.io/interceptionMode': 'TPROXY' } }), sds);
    assert.deepEqual(
      out.spec.volumes.map((v: Obj) => v.name),
      ['istio-envoy', 'sds-uds-path', 'istio-token'],
    );
    const token = out.spec.volumes[2].projected.sources[0].serviceAccountToken;
    assert.deepEqual(token, { path: 'istio-token', expirationSeconds: 43200, audience: 'istio-ca' });
    assert.equal(out.spec.securityContext.fsGroup, 1337);
    assert.deepEqual(out.spec.imagePullSecrets, [{ name: 'regcred' }]);
    assert.deepEqual(out.spec.dnsConfig, { searches: ['global', 'bookinfo.global'] });
    const proxy = out.spec.containers.find((c: Obj) => c.name === 'istio-proxy');
    assert.equal(envOf(out, 'SDS_ENABLED'), 'true');
    assert.equal(proxy.securityContext.runAsUser, 0);
    assert.deepEqual(proxy.securityContext.capabilities.add, ['NET_ADMIN']);
    assert.ok(out.spec.initContainers[0].command.includes('TPROXY'));
  });

  it('interceptionMode NONE adds no istio-init; userVolume annotations add volumes and mounts', () => {
    const pod = replicaSetPod({
      annotations: {
        'sidecar.istio.io/interceptionMode': 'NONE',
        'sidecar.istio.io/userVolume': '{"extra":{"configMap":{"name":"x"}}}',
        'sidecar.istio.io/userVolumeMount': '{"extra":{"mountPath":"/extra","readOnly":true}}',
        'sidecar.istio.io/proxyCPU': '250m',
        'status.sidecar.istio.io/port': '0',
      },
    });
    const out = apply(pod, injector);
    assert.equal(out.spec.initContainers, undefined);
    assert.deepEqual(out.spec.volumes.at(-1), { name: 'extra', configMap: { name: 'x' } });
    const proxy = out.spec.containers.find((c: Obj) => c.name === 'istio-proxy');
    assert.deepEqual(proxy.volumeMounts.at(-1), { name: 'extra', mountPath: '/extra', readOnly: true });
    assert.deepEqual(proxy.resources, { requests: { cpu: '250m' } });
    assert.equal(proxy.readinessProbe, undefined, 'status port 0: no readiness probe');
    assert.ok(!proxy.args.includes('--statusPort'));
  });
});

describe('kube-inject objects', async () => {
  const injector = await unitTestInjector();
  const template = replicaSetPod();
  const podTemplate = { metadata: { labels: { app: 'reviews' } }, spec: template.spec };
  const kinds: Obj[] = [
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's' }, spec: { template: podTemplate } },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j', namespace: 'n' },
      spec: { template: podTemplate },
    },
    {
      apiVersion: 'batch/v1beta1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: { jobTemplate: { spec: { template: podTemplate } } },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: { app: 'reviews' } },
      spec: template.spec,
    },
  ];
  for (const obj of kinds) {
    it(`${obj.kind}: injected, and injecting the output again changes nothing`, () => {
      const r = injectObject(injector, obj);
      assert.ok(r.ok);
      const pod =
        obj.kind === 'Pod'
          ? r.value.object
          : obj.kind === 'CronJob'
            ? r.value.object.spec.jobTemplate.spec.template
            : r.value.object.spec.template;
      assert.deepEqual(
        pod.spec.containers.map((c: Obj) => c.name),
        ['reviews', 'istio-proxy'],
      );
      const owner = pod.spec.containers[1].env.find((e: Obj) => e.name === 'ISTIO_META_OWNER').value;
      const ns = obj.metadata.namespace ?? 'default';
      assert.equal(
        owner,
        `kubernetes://apis/${obj.apiVersion}/namespaces/${ns}/${obj.kind.toLowerCase()}s/${obj.metadata.name}`,
      );
      const again = injectObject(injector, r.value.object);
      assert.ok(again.ok);
      assert.deepEqual(again.value.object, r.value.object);
      assert.match(again.value.warnings[0]!, /already injected/);
      assert.deepEqual(fastJsonPatch.compare(r.value.object, again.value.object), []);
    });
  }

  it('a List injects each item; other kinds pass through; hostNetwork is left alone with a warning', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews' }, spec: { ports: [] } };
    const host = {
      ...kinds[0],
      metadata: { name: 'h' },
      spec: { template: { spec: { ...template.spec, hostNetwork: true } } },
    };
    const r = injectObject(injector, { apiVersion: 'v1', kind: 'List', items: [svc, kinds[0], host] });
    assert.ok(r.ok);
    assert.deepEqual(r.value.object.items[0], svc);
    assert.equal(r.value.object.items[1].spec.template.spec.containers.length, 2);
    assert.equal(r.value.object.items[2].spec.template.spec.containers.length, 1);
    assert.match(r.value.warnings.join(), /StatefulSet h: hostNetwork/);
  });

  it('a workload without a pod spec is an error naming it', () => {
    const r = injectObject(injector, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {},
    });
    assert.ok(!r.ok);
    assert.match(r.errors[0]!, /Deployment d: has no pod spec at spec.template.spec/);
  });
});
