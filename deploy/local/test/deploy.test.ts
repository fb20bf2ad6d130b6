// The deployment artifacts (Kubernetes manifests, docker-compose, Prometheus config) parse and refer
// to things that exist: images to services, flags to real flags, selectors to pods, ports to ports.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '@keel/testing';
import { parse, parseAllDocuments } from 'yaml';

type Obj = Record<string, any>;
const root = repoRoot();
const k8sDir = join(root, 'deploy/kubernetes');
const services = readdirSync(join(root, 'services')).filter((s) =>
  existsSync(join(root, 'services', s, 'src/main.ts')),
);

function loadManifests(): Array<Obj & { file: string }> {
  const out: Array<Obj & { file: string }> = [];
  for (const file of readdirSync(k8sDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const doc of parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${file} parses`);
      const obj = doc.toJS() as Obj | null;
      if (obj) out.push({ ...obj, file });
    }
  }
  return out;
}

const helpCache = new Map<string, string>();
/** The service's real `--help` text (its flag table). */
function helpOf(service: string): string {
  let text = helpCache.get(service);
  if (text === undefined) {
    const main = join(root, 'services', service, 'dist/src/main.js');
    try {
      text = execFileSync(process.execPath, [main, '--help'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      text = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    helpCache.set(service, text);
  }
  return text;
}

function assertFlagsKnown(service: string, args: string[], where: string): void {
  const help = helpOf(service);
  for (const a of args) {
    const m = /^--([a-z0-9-]+)/.exec(a);
    if (m) assert.ok(help.includes(`--${m[1]}`), `${where}: --${m[1]} is not a flag of ${service}`);
  }
}

describe('deploy/kubernetes', () => {
  const objects = loadManifests();
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);

  it('every document has apiVersion, kind and metadata.name', () => {
    assert.ok(objects.length > 10);
    for (const o of objects)
      assert.ok(o.apiVersion && o.kind && o.metadata?.name, `${o.file}: ${JSON.stringify(o).slice(0, 80)}`);
  });

  it('crds.yaml is exactly what `keelctl crds` prints', () => {
    const out = execFileSync(process.execPath, [join(root, 'cli/keelctl/dist/src/main.js'), 'crds'], {
      encoding: 'utf8',
    });
    assert.equal(readFileSync(join(k8sDir, 'crds.yaml'), 'utf8').trimEnd(), out.trimEnd());
  });

  it('every service has a Deployment whose image, flags, service account and probes line up', () => {
    const deployments = byKind('Deployment');
    for (const svc of services) {
      const d = deployments.find((x) =>
        x.spec.template.spec.containers.some((c: Obj) => c.image === `keel/${svc}:latest`),
      );
      assert.ok(d, `a Deployment runs keel/${svc}`);
      const pod = d.spec.template.spec;
      const sa = pod.serviceAccountName;
      assert.ok(
        byKind('ServiceAccount').some(
          (s) => s.metadata.name === sa && s.metadata.namespace === d.metadata.namespace,
        ),
        `${svc}: service account ${sa} exists`,
      );
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels))
        assert.equal(pod.metadata?.labels?.[k] ?? d.spec.template.metadata.labels[k], v);
      const c = pod.containers[0];
      assertFlagsKnown(svc, c.args ?? [], `${d.file} ${d.metadata.name}`);
      const portNumbers = new Set((c.ports ?? []).map((p: Obj) => p.containerPort));
      for (const probe of [c.readinessProbe, c.livenessProbe].filter(Boolean))
        assert.ok(
          portNumbers.has(probe.httpGet.port),
          `${svc}: probe port ${probe.httpGet.port} is a container port`,
        );
      for (const v of pod.volumes ?? []) {
        if (v.configMap)
          assert.ok(
            byKind('ConfigMap').some((m) => m.metadata.name === v.configMap.name),
            `${svc}: ConfigMap ${v.configMap.name} exists`,
          );
      }
    }
  });

  it('every Service selects a workload and targets a port it exposes', () => {
    const workloads = [...byKind('Deployment'), ...byKind('StatefulSet')];
    for (const s of byKind('Service')) {
      const w = workloads.find((x) =>
        Object.entries(s.spec.selector).every(([k, v]) => x.spec.template.metadata.labels[k] === v),
      );
      assert.ok(w, `Service ${s.metadata.name} selects a workload`);
      const ports = w.spec.template.spec.containers.flatMap((c: Obj) => c.ports ?? []);
      for (const p of s.spec.ports) {
        const target = p.targetPort ?? p.port;
        assert.ok(
          ports.some((cp: Obj) => cp.containerPort === target || cp.name === target),
          `Service ${s.metadata.name} port ${p.name} -> ${target}`,
        );
      }
    }
  });

  it('webhooks call existing services on Galley paths', () => {
    for (const w of byKind('ValidatingWebhookConfiguration').flatMap((v) => v.webhooks)) {
      const ref = w.clientConfig.service;
      assert.ok(
        byKind('Service').some((s) => s.metadata.name === ref.name && s.metadata.namespace === ref.namespace),
      );
      assert.ok(['/admitpilot', '/admitmixer'].includes(ref.path));
      for (const r of w.rules)
        assert.ok(
          r.resources.length > 0 && !(r.resources.includes('*') && r.resources.length > 1),
          'a * resource stands alone',
        );
    }
  });

  it('the injector webhook calls its Service on /inject for pods in istio-injection=enabled namespaces', () => {
    const hooks = byKind('MutatingWebhookConfiguration').flatMap((m) => m.webhooks);
    const inject = hooks.find((w) => w.name === 'sidecar-injector.istio.io');
    assert.ok(inject, 'sidecar-injector.istio.io webhook');
    const ref = inject.clientConfig.service;
    const svc = byKind('Service').find(
      (s) => s.metadata.name === ref.name && s.metadata.namespace === ref.namespace,
    );
    assert.ok(svc, 'its Service exists');
    assert.ok(svc.spec.ports.some((p: Obj) => p.port === ref.port));
    assert.equal(ref.path, '/inject');
    assert.deepEqual(inject.namespaceSelector, { matchLabels: { 'istio-injection': 'enabled' } });
    assert.deepEqual(inject.rules, [
      { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] },
    ]);
    assert.equal(inject.failurePolicy, 'Fail');
    assert.deepEqual(inject.admissionReviewVersions, ['v1', 'v1beta1']);
  });

  it('the istio-sidecar-injector ConfigMap holds exactly the template and values the injector ships', () => {
    const cm = byKind('ConfigMap').find((m) => m.metadata.name === 'istio-sidecar-injector');
    assert.ok(cm);
    const files = join(root, 'services/sidecar-injector/files');
    assert.equal(
      cm.data.config,
      readFileSync(join(files, 'config.yaml'), 'utf8'),
      'data.config = files/config.yaml',
    );
    assert.equal(
      cm.data.values,
      readFileSync(join(files, 'values.json'), 'utf8'),
      'data.values = files/values.json',
    );
  });

  it('kustomization lists every manifest file, each existing', () => {
    const k = parse(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')) as Obj;
    const files = readdirSync(k8sDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    assert.deepEqual([...k.resources].sort(), files.sort());
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as Obj;

  it('builds every service from the shared Dockerfile with real flags and existing mounts', () => {
    assert.ok(existsSync(join(root, 'deploy/docker/Dockerfile')));
    for (const svc of services) {
      const s = compose.services[svc];
      assert.ok(s, `compose has ${svc}`);
      assert.equal(s.build.dockerfile, 'deploy/docker/Dockerfile');
      assert.equal(s.build.args.SERVICE, svc);
      assertFlagsKnown(svc, s.command ?? [], `docker-compose ${svc}`);
      for (const v of s.volumes ?? []) {
        const source = String(v).split(':')[0]!;
        if (compose.volumes && source in compose.volumes) continue; // a named volume
        assert.ok(existsSync(join(root, source)), `${svc}: mount ${v}`);
      }
      for (const dep of s.depends_on ?? [])
        assert.ok(compose.services[dep], `${svc} depends on defined ${dep}`);
    }
  });

  it('Prometheus scrapes compose services', () => {
    const prom = parse(readFileSync(join(root, 'deploy/prometheus/prometheus.yml'), 'utf8')) as Obj;
    for (const job of prom.scrape_configs) {
      for (const t of job.static_configs.flatMap((c: Obj) => c.targets))
        assert.ok(compose.services[String(t).split(':')[0]!], `${job.job_name} -> ${t}`);
    }
  });
});

describe('every service lands everywhere', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const runner = readFileSync(join(root, 'deploy/local/src/runner.ts'), 'utf8');
  for (const svc of services) {
    it(`${svc}: local runner, README`, () => {
      assert.ok(runner.includes(`services/${svc}/dist/src/main.js`), 'the local runner starts it');
      assert.ok(readme.includes(svc), 'README mentions it');
    });
  }
});

describe('node options (deploy/node-options.json)', () => {
  const all = JSON.parse(readFileSync(join(root, 'deploy/node-options.json'), 'utf8')) as Record<
    string,
    string
  >;
  const options = Object.entries(all).filter(([k]) => k !== '//');
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as Obj;
  const deployments = loadManifests().filter((o) => o.kind === 'Deployment');
  const runner = readFileSync(join(root, 'deploy/local/src/runner.ts'), 'utf8');
  const container = (svc: string): Obj =>
    deployments
      .flatMap((d) => d.spec.template.spec.containers as Obj[])
      .find((c) => c.image === `keel/${svc}:latest`)!;
  const envOf = (c: Obj) => (c.env ?? []).find((e: Obj) => e.name === 'NODE_OPTIONS')?.value;

  it('names services, and node accepts each value', () => {
    assert.ok(options.length > 0);
    for (const [svc, value] of options) {
      assert.ok(services.includes(svc), `${svc} is a service`);
      execFileSync(process.execPath, [...value.split(' '), '-e', '0'], { stdio: 'pipe' });
    }
  });

  it('compose, the manifests and the local runner give each service exactly its options', () => {
    for (const svc of services) {
      const want = all[svc];
      assert.equal(compose.services[svc].environment?.NODE_OPTIONS, want, `docker-compose ${svc}`);
      assert.equal(envOf(container(svc)), want, `deploy/kubernetes ${svc}`);
      assert.equal(runner.includes(`nodeOptions(root, '${svc}')`), want !== undefined, `local runner ${svc}`);
    }
  });
});
