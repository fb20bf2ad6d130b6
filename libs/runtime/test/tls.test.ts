import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type TempDir, tempDir, withTimeout } from '@keel/testing';
import { createLogger, loadTlsFiles, type TlsMaterial, watchTlsFiles } from '../src/index.js';

/** A self-signed P-256 pair made by the openssl CLI, written as `<cn>.crt`/`<cn>.key` under `dir`. */
function selfSigned(dir: string, cn: string): { cert: string; key: string } {
  const cert = path.join(dir, `${cn}.crt`);
  const key = path.join(dir, `${cn}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

describe('TLS files', () => {
  let dir: TempDir;
  let live: string;
  const certFile = () => path.join(live, 'cert.pem');
  const keyFile = () => path.join(live, 'key.pem');

  before(async () => {
    dir = await tempDir('tls');
    live = path.join(dir.path, 'live');
    await mkdir(live);
  });
  after(() => dir.cleanup());

  async function install(cn: string): Promise<void> {
    const pair = selfSigned(dir.path, cn);
    // Replace by rename, as secret mounts and cert managers do.
    await rename(pair.key, keyFile());
    await rename(pair.cert, certFile());
  }

  it('loads a matching pair and rejects a mismatched one', async () => {
    await install('one');
    const good = await loadTlsFiles({ certFile: certFile(), keyFile: keyFile() });
    assert.ok(good.ok);
    assert.match(good.value.cert, /BEGIN CERTIFICATE/);
    const other = selfSigned(dir.path, 'other');
    const bad = await loadTlsFiles({ certFile: certFile(), keyFile: other.key });
    assert.ok(!bad.ok);
    assert.match(bad.errors, /does not match/);
    const missing = await loadTlsFiles({ certFile: path.join(live, 'nope.pem'), keyFile: keyFile() });
    assert.ok(!missing.ok);
    assert.match(missing.errors, /ENOENT/);
  });

  it('reloads on change, and keeps the old pair when the new one is broken', async () => {
    await install('first');
    const cnOf = (m: TlsMaterial) => new X509Certificate(m.cert).subject;
    let onWarn: (() => void) | undefined;
    const logger = createLogger('tls-test', {
      destination: {
        write: (line: string) => {
          if (line.includes('keeping the previous TLS certificate')) onWarn?.();
        },
      },
    });
    const changes: TlsMaterial[] = [];
    let notify: ((m: TlsMaterial) => void) | undefined;
    const watcher = await watchTlsFiles({
      certFile: certFile(),
      keyFile: keyFile(),
      logger,
      onChange: (m) => {
        changes.push(m);
        notify?.(m);
      },
    });
    try {
      assert.equal(cnOf(watcher.current()), 'CN=first');

      const changed = withTimeout(new Promise<TlsMaterial>((r) => (notify = r)), 5000, 'onChange');
      await install('second');
      assert.equal(cnOf(await changed), 'CN=second');
      assert.equal(cnOf(watcher.current()), 'CN=second');

      // A broken key: no onChange, the second pair stays current. Then a good pair arrives.
      const warned = withTimeout(
        new Promise<void>((r) => (onWarn = r)),
        5000,
        'warning about the broken key',
      );
      await writeFile(keyFile(), 'not a key');
      await warned;
      assert.equal(cnOf(watcher.current()), 'CN=second');
      const third = withTimeout(new Promise<TlsMaterial>((r) => (notify = r)), 5000, 'onChange after broken');
      await install('third');
      assert.equal(cnOf(await third), 'CN=third');
      assert.deepEqual(
        changes.map((m) => cnOf(m)),
        ['CN=second', 'CN=third'],
      );
    } finally {
      watcher.close();
    }
  });
});
