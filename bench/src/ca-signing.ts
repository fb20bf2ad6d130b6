// CA signing: CreateCertificate calls per second to a real citadel process (TLS, bearer token, the
// whole service path) with an RSA-2048 CA and with a P-256 CA, against `openssl speed` sign/s for
// the same key type on the same core in the same run; plus the in-process sign path (parse + issue).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CaClient,
  CertificateAuthority,
  createCsr,
  createSelfSignedCa,
  generateKey,
  type KeyAlgorithm,
  parseCsr,
} from '@keel/pki';
import { startServer } from './proc.js';
import { median, nowMs } from './stats.js';
import type { BenchContext, Benchmark, Row } from './types.js';

const CASES: {
  algorithm: KeyAlgorithm;
  label: string;
  openssl: string;
  target: number;
  minRatio?: number;
}[] = [
  { algorithm: 'RSA', label: 'rsa2048', openssl: 'rsa2048', target: 800, minRatio: 0.25 },
  { algorithm: 'ECDSA', label: 'p256', openssl: 'ecdsap256', target: 3000 },
];

/** `openssl speed` sign/s for one algorithm, run on the server core. */
export function opensslSignRate(ctx: BenchContext, alg: string, seconds: number): number {
  const out = execFileSync(
    ctx.serverPrefix[0] ?? 'openssl',
    [
      ...ctx.serverPrefix.slice(1),
      ...(ctx.serverPrefix.length ? ['openssl'] : []),
      'speed',
      '-seconds',
      String(seconds),
      alg,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const line = out.trim().split('\n').pop() ?? '';
  // "rsa 2048 bits 0.000244s 0.000016s 4096.9 61705.7" / " 256 bits ecdsa (nistp256) 0.0000s 0.0001s 51531.1 16769.2"
  const nums = line.trim().split(/\s+/).map(Number).filter(Number.isFinite);
  const rate = nums[nums.length - 2];
  if (rate === undefined || !(rate > 0)) throw new Error(`cannot read openssl speed output: ${line}`);
  return rate;
}

/** A varint (protobuf wire format). */
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** A gRPC-framed IstioCertificateRequest{csr = 1, validity_duration = 3}. */
function framedRequest(csrPem: string, validitySeconds: number): Buffer {
  const csr = Buffer.from(csrPem);
  const body = Buffer.concat([
    Buffer.from([0x0a]),
    varint(csr.length),
    csr,
    Buffer.from([0x18]),
    varint(validitySeconds),
  ]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/**
 * CreateCertificate calls over node:http2 with TLS, `concurrency` in flight for `ms`; returns the
 * successful calls per second. Hand-written (not grpc-js) because one load core drives the server's
 * core: grpc-js's client-side cost per unary call kept the server below saturation (measured: the
 * server idle a third of the time). Every response must end with grpc-status 0.
 */
async function drive(
  address: string,
  rootPem: string,
  requests: Buffer[],
  concurrency: number,
  ms: number,
): Promise<number> {
  const session = http2.connect(`https://${address}`, {
    ca: rootPem,
    servername: 'istio-citadel',
    ALPNProtocols: ['h2'],
  });
  session.on('error', () => {});
  let done = 0;
  let failed = '';
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = session.request({
        ':method': 'POST',
        ':path': '/istio.v1.auth.IstioCertificateService/CreateCertificate',
        'content-type': 'application/grpc',
        te: 'trailers',
        authorization: 'Bearer bench',
      });
      req.on('data', () => {});
      req.on('trailers', (t) => {
        if (t['grpc-status'] === '0') done++;
        else failed = `grpc-status ${t['grpc-status']}: ${t['grpc-message']}`;
      });
      req.on('close', () => resolve());
      req.on('error', (e) => {
        failed = String(e);
      });
      req.end(requests[next++ % requests.length]);
    });
  const end = nowMs() + ms;
  const worker = async () => {
    while (nowMs() < end && !failed) await one();
  };
  const start = nowMs();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = nowMs() - start;
  session.close();
  if (failed) throw new Error(`CreateCertificate failed: ${failed}`);
  return (done * 1000) / elapsed;
}

export const caSigning: Benchmark = {
  name: 'ca-signing',
  description: 'CreateCertificate/s to a citadel process (RSA-2048 and P-256 CAs) vs openssl speed sign/s',
  async run(ctx) {
    const rows: Row[] = [];
    const details: Record<string, unknown> = {};
    const measureMs = ctx.quick ? 1000 : 3000;
    const dir = mkdtempSync(join(tmpdir(), 'keel-bench-ca-'));
    writeFileSync(join(dir, 'tokens'), 'bench default bench\n');
    const keys = await Promise.all(Array.from({ length: 32 }, () => generateKey({ algorithm: 'ECDSA' })));
    const csrs = keys.map((key) => createCsr({ key }));
    const requests = csrs.map((csr) => framedRequest(csr, 3600));
    try {
      for (const c of CASES) {
        const caDir = join(dir, c.label);
        const citadel = await startServer(
          ctx,
          'services/citadel/dist/src/main.js',
          [
            '--host',
            '127.0.0.1',
            '--grpc-port',
            '0',
            '--monitoring-port',
            '0',
            '--ca-dir',
            caDir,
            '--token-file',
            join(dir, 'tokens'),
            '--key-algorithm',
            c.algorithm,
          ],
          'citadel listening',
        );
        const service: number[] = [];
        const openssl: number[] = [];
        const inProcess: number[] = [];
        try {
          const address = `127.0.0.1:${citadel.ready.grpcPort}`;
          const rootPem = readFileSync(join(caDir, 'root-cert.pem'), 'utf8');
          // The first call goes through grpc-js (the real client) to check the answer's chain.
          const client = new CaClient({ address, rootPem });
          const chain = await client.createCertificate({ csrPem: csrs[0]!, token: 'bench' });
          client.close();
          if (chain.length !== 2) throw new Error(`expected leaf and root, got ${chain.length} certificates`);
          await drive(address, rootPem, requests, 32, 300); // warm-up: JIT, TLS session
          for (let run = 0; run < ctx.runs; run++) {
            service.push(await drive(address, rootPem, requests, 64, measureMs));
            if (!ctx.noBaseline) openssl.push(opensslSignRate(ctx, c.openssl, ctx.quick ? 1 : 2));
          }
        } finally {
          await citadel.stop();
        }
        // The same CA work in this process: parse the CSR, build and sign the certificate.
        const key = await generateKey({ algorithm: c.algorithm });
        const rootPem = createSelfSignedCa({ key, organization: 'cluster.local', ttlMs: 86_400_000 });
        const ca = new CertificateAuthority({
          signingCertPem: rootPem,
          signingKey: key,
          intermediatePems: [],
          rootPem,
        });
        for (let run = 0; run < ctx.runs; run++) {
          let n = 0;
          const start = nowMs();
          while (nowMs() - start < (ctx.quick ? 300 : 1000)) {
            const parsed = parseCsr(csrs[n % csrs.length]!);
            if (!parsed.ok) throw new Error(parsed.errors);
            ca.issue({
              spki: parsed.value.spki,
              uris: ['spiffe://cluster.local/ns/default/sa/bench'],
              ttlMs: 3_600_000,
            });
            n++;
          }
          inProcess.push((n * 1000) / (nowMs() - start));
        }
        const figure = median(service);
        const base = openssl.length ? median(openssl) : undefined;
        const ratio = base ? figure / base : undefined;
        rows.push({
          name: `ca-signing ${c.label} CreateCertificate`,
          figure,
          unit: '/s',
          target: c.target,
          cmp: 'ge',
          ...(base !== undefined ? { baseline: base, baselineLabel: `openssl speed ${c.openssl} sign` } : {}),
          samples: service,
          note:
            (c.minRatio && ratio !== undefined
              ? `ratio ${ratio.toFixed(2)} (target >= ${c.minRatio}${ratio >= c.minRatio ? ', met' : ', MISSED'}); `
              : '') +
            `in-process parse+sign ${Math.round(median(inProcess))}/s; 64 calls in flight, one TLS HTTP/2 connection`,
        });
        details[c.label] = { service, openssl, inProcess };
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return { rows, details };
  },
};
