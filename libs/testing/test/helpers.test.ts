import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { freePort, once, repoRoot, sharedTestdata, tempDir, waitFor, withTimeout } from '../src/index.js';

describe('paths', () => {
  it('repoRoot holds pnpm-workspace.yaml', () => {
    assert.ok(existsSync(path.join(repoRoot(), 'pnpm-workspace.yaml')));
    assert.ok(existsSync(path.join(repoRoot(), 'libs', 'testing', 'package.json')));
  });
  it('sharedTestdata points at the Istio 1.4.10 inputs', () => {
    const dir = sharedTestdata('samples');
    assert.equal(dir, path.resolve(repoRoot(), '..', 'shared', 'testdata', 'istio-1.4.10', 'samples'));
    assert.ok(existsSync(dir));
  });
});

describe('freePort', () => {
  it('returns a port that can be listened on', async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((r) => server.close(r));
  });
});

describe('wait helpers', () => {
  it('once resolves with the event arguments', async () => {
    const e = new EventEmitter();
    const p = once<[number, string]>(e, 'x', 1000);
    e.emit('x', 1, 'a');
    assert.deepEqual(await p, [1, 'a']);
    assert.equal(e.listenerCount('x'), 0);
    assert.equal(e.listenerCount('error'), 0);
  });
  it('once rejects on error and on timeout', async () => {
    const e = new EventEmitter();
    const p = once(e, 'x', 1000);
    e.emit('error', new Error('boom'));
    await assert.rejects(p, /boom/);
    await assert.rejects(once(new EventEmitter(), 'never', 20), /event 'never' timed out after 20 ms/);
  });
  it('withTimeout passes values through and names what timed out', async () => {
    assert.equal(await withTimeout(Promise.resolve(7), 100, 'seven'), 7);
    await assert.rejects(
      withTimeout(new Promise(() => {}), 20, 'the thing'),
      /the thing timed out after 20 ms/,
    );
  });
  it('waitFor polls until true, and times out with the last error', async () => {
    let n = 0;
    await waitFor(() => ++n >= 3, { intervalMs: 1, timeoutMs: 1000 });
    assert.equal(n, 3);
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('not up');
        },
        { timeoutMs: 30, intervalMs: 5, what: 'server' },
      ),
      /waitFor server timed out after 30 ms: last error Error: not up/,
    );
  });
});

describe('tempDir', () => {
  it('creates and removes a directory', async () => {
    const dir = await tempDir('unit');
    assert.match(path.basename(dir.path), /^keel-unit-/);
    await writeFile(path.join(dir.path, 'f'), 'x');
    await dir.cleanup();
    assert.equal(existsSync(dir.path), false);
    await dir.cleanup();
  });
});
