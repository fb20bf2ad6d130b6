import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A throwaway CA and a server certificate for `localhost`/127.0.0.1 signed by it (openssl CLI). */
export function makeTestCerts(
  dir: string,
  cn = 'istio-galley.istio-system.svc',
): { ca: string; cert: string; key: string; certFile: string; keyFile: string } {
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=keel-test-ca',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
  ]);
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${cn}`,
    '-keyout',
    p('tls.key'),
    '-out',
    p('tls.csr'),
  ]);
  const ext = p('ext.cnf');
  execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost,DNS:${cn},IP:127.0.0.1\\n' > '${ext}'`]);
  run([
    'x509',
    '-req',
    '-in',
    p('tls.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    ext,
    '-out',
    p('tls.crt'),
  ]);
  return {
    ca: readFileSync(p('ca.crt'), 'utf8'),
    cert: readFileSync(p('tls.crt'), 'utf8'),
    key: readFileSync(p('tls.key'), 'utf8'),
    certFile: p('tls.crt'),
    keyFile: p('tls.key'),
  };
}
