import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** Include directories of the Envoy, xDS, googleapis and validate protos shipped by @grpc/grpc-js-xds. */
export function envoyIncludeDirs(): string[] {
  const pkgDir = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate', 'cncf-xds']
    .map((d) => join(pkgDir, 'deps', d))
    .filter(existsSync);
}

/** The repository's own proto/ directory (Keel's APIs: MCP, the CA service, Mixer v1). */
export function keelProtoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'istio'))) return candidate;
    const parent = resolve(dir, '..');
    if (parent === dir) throw new Error('proto/ directory not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** Every include directory, Keel's first. */
export function allIncludeDirs(): string[] {
  return [keelProtoDir(), ...envoyIncludeDirs()];
}
