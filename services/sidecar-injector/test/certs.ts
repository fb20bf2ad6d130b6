import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCerts {
  ca: string;
  cert: string;
  key: string;
}

/** A throwaway CA (openssl) and a serving certificate for the injector's Service names and 127.0.0.1. */
export function makeCerts(dir: string, caName = 'keel-injector-test-ca'): TestCerts {
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const cn = 'istio-sidecar-injector.istio-system.svc';
  run(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${caName}`].concat([
      '-keyout',
      p('ca.key'),
      '-out',
      p('ca.crt'),
    ]),
  );
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${cn}`,
    '-keyout',
    p('key.pem'),
    '-out',
    p('csr.pem'),
  ]);
  writeFileSync(p('ext.cnf'), `subjectAltName=DNS:localhost,DNS:${cn},IP:127.0.0.1\n`);
  run(
    [
      'x509',
      '-req',
      '-in',
      p('csr.pem'),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
    ].concat(['-days', '1', '-extfile', p('ext.cnf'), '-out', p('cert-chain.pem')]),
  );
  return {
    ca: readFileSync(p('ca.crt'), 'utf8'),
    cert: readFileSync(p('cert-chain.pem'), 'utf8'),
    key: readFileSync(p('key.pem'), 'utf8'),
  };
}
