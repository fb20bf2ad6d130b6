import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '@keel/testing';

/** deploy/local/config and deploy/local/mesh.yaml in this checkout. */
export const localMesh = {
  configDir: () => path.join(repoRoot(), 'deploy', 'local', 'config'),
  meshConfig: () => path.join(repoRoot(), 'deploy', 'local', 'mesh.yaml'),
};

/** The local mesh's reviews pods: name -> loopback IP (deploy/local/config/bookinfo-platform.yaml). */
export const REVIEWS_PODS = [
  { name: 'reviews-v1', ip: '127.0.1.3' },
  { name: 'reviews-v2', ip: '127.0.1.4' },
  { name: 'reviews-v3', ip: '127.0.1.5' },
] as const;

/** The service port used by the local mesh's YAML. */
export const LOCAL_MESH_PORT = 9080;

/**
 * Copies every YAML file of deploy/local/config into `dir`, with the services' port 9080 replaced
 * by `port` (so tests can bind backends on a free port). Returns the written file names.
 */
export async function copyLocalMesh(dir: string, port: number): Promise<string[]> {
  const src = localMesh.configDir();
  const names = (await readdir(src)).filter((n) => /\.ya?ml$/.test(n));
  for (const name of names) {
    const text = await readFile(path.join(src, name), 'utf8');
    await writeFile(
      path.join(dir, name),
      text.replace(new RegExp(`\\b${LOCAL_MESH_PORT}\\b`, 'g'), String(port)),
    );
  }
  return names;
}
