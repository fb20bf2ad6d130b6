// Where the self-signed CA lives between restarts: a directory (local mode) or the Kubernetes Secret
// istio-ca-secret (Kubernetes mode). Keys are written 0600 and replaced atomically.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kubeRequest } from '@keel/kube';
import type { KubeConfig } from '@kubernetes/client-node';

/** A previous root kept in the trust bundle until `keepUntil` (RFC 3339). */
export interface RetiredRoot {
  pem: string;
  keepUntil: string;
}

export interface StoredCa {
  certPem: string;
  keyPem: string;
  retired: RetiredRoot[];
}

export interface CaStore {
  /** Where it is, for logs. */
  where: string;
  load(): Promise<StoredCa | undefined>;
  /** Persists the CA; `bundlePem` is the trust bundle published beside it. */
  save(ca: StoredCa, bundlePem: string): Promise<void>;
  /** Like save, but fails when a CA is already stored (first start of several replicas). */
  create(ca: StoredCa, bundlePem: string): Promise<void>;
}

async function writeAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

/** ca-cert.pem, ca-key.pem (0600), retired-roots.json (0600) and root-cert.pem (the bundle, 0644). */
export function dirStore(dir: string): CaStore {
  const f = (name: string) => path.join(dir, name);
  const save = async (ca: StoredCa, bundlePem: string): Promise<void> => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeAtomic(f('ca-key.pem'), ca.keyPem, 0o600);
    await writeAtomic(f('retired-roots.json'), JSON.stringify(ca.retired), 0o600);
    await writeAtomic(f('ca-cert.pem'), ca.certPem, 0o644);
    await writeAtomic(f('root-cert.pem'), bundlePem, 0o644);
  };
  return {
    where: dir,
    async load() {
      let certPem: string;
      let keyPem: string;
      try {
        [certPem, keyPem] = await Promise.all([
          readFile(f('ca-cert.pem'), 'utf8'),
          readFile(f('ca-key.pem'), 'utf8'),
        ]);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
      const retiredText = await readFile(f('retired-roots.json'), 'utf8').catch(() => '[]');
      return { certPem, keyPem, retired: JSON.parse(retiredText) as RetiredRoot[] };
    },
    // One process owns a local CA directory: creating is saving.
    create: save,
    save,
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: unknown) => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : undefined);

/** Secret `istio-ca-secret` (type istio.io/ca-root, keys ca-cert.pem and ca-key.pem) in `namespace`. */
export function secretStore(kubeConfig: KubeConfig, namespace: string): CaStore {
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  const name = 'istio-ca-secret';
  const secretBody = (ca: StoredCa, bundlePem: string) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'istio.io/ca-root',
    data: {
      'ca-cert.pem': b64(ca.certPem),
      'ca-key.pem': b64(ca.keyPem),
      'root-cert.pem': b64(bundlePem),
      'retired-roots.json': b64(JSON.stringify(ca.retired)),
    },
  });
  return {
    where: `secret ${namespace}/${name}`,
    async load() {
      const got = await kubeRequest(kubeConfig, { method: 'GET', path: `${base}/${name}` });
      if (got.status === 404) return undefined;
      if (got.status !== 200) throw new Error(`reading ${namespace}/${name}: HTTP ${got.status}`);
      const data = ((got.body as { data?: Record<string, string> }).data ?? {}) as Record<string, string>;
      const certPem = unb64(data['ca-cert.pem']);
      const keyPem = unb64(data['ca-key.pem']);
      if (!certPem || !keyPem) throw new Error(`${namespace}/${name} lacks ca-cert.pem or ca-key.pem`);
      return {
        certPem,
        keyPem,
        retired: JSON.parse(unb64(data['retired-roots.json']) ?? '[]') as RetiredRoot[],
      };
    },
    async create(ca, bundlePem) {
      const created = await kubeRequest(kubeConfig, {
        method: 'POST',
        path: base,
        body: secretBody(ca, bundlePem),
      });
      if (created.status !== 201 && created.status !== 200)
        throw new Error(`creating ${namespace}/${name}: HTTP ${created.status}`);
    },
    async save(ca, bundlePem) {
      const body = secretBody(ca, bundlePem);
      const put = await kubeRequest(kubeConfig, { method: 'PUT', path: `${base}/${name}`, body });
      if (put.status === 404) {
        const created = await kubeRequest(kubeConfig, { method: 'POST', path: base, body });
        if (created.status !== 201 && created.status !== 200)
          throw new Error(`creating ${namespace}/${name}: HTTP ${created.status}`);
      } else if (put.status !== 200) throw new Error(`updating ${namespace}/${name}: HTTP ${put.status}`);
    },
  };
}
