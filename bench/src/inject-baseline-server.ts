// Baseline for the injection rows: an HTTPS AdmissionReview server that parses the review like the
// injector (libs/kube handleAdmissionHttp) and allows every pod without a patch.
// Usage: node inject-baseline-server.js --tls-cert FILE --tls-key FILE
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { handleAdmissionHttp } from '@keel/kube';

function flag(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v) throw new Error(`--${name} is required`);
  return v;
}

const server = createServer(
  { cert: readFileSync(flag('tls-cert')), key: readFileSync(flag('tls-key')), keepAliveTimeout: 30_000 },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handleAdmissionHttp(
        {
          method: req.method ?? 'GET',
          contentType: req.headers['content-type'],
          body: Buffer.concat(chunks),
        },
        () => ({ allowed: true }),
      ).then((r) => {
        const text = JSON.stringify(r.body);
        res.writeHead(r.status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      });
    });
  },
);
server.listen(0, '127.0.0.1', () => {
  const port = (server.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ msg: 'baseline listening', port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
