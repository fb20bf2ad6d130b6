import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { startNats } from '../src/index.js';

/** Connects and resolves with the server's first protocol line (INFO {...}). */
function readInfo(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = '';
    socket.on('data', (chunk) => {
      buf += chunk.toString();
      const nl = buf.indexOf('\r\n');
      if (nl >= 0) {
        socket.destroy();
        resolve(buf.slice(0, nl));
      }
    });
    socket.on('error', reject);
  });
}

describe('startNats', () => {
  it('starts a JetStream server that accepts connections, restarts on the same port, stops', async () => {
    const nats = await startNats();
    try {
      assert.equal(nats.url, `nats://127.0.0.1:${nats.port}`);
      const info = JSON.parse((await readInfo(nats.port)).replace(/^INFO /, ''));
      assert.equal(info.port, nats.port);
      assert.equal(info.jetstream, true);
      const before = info.server_id;
      await nats.restart();
      const after = JSON.parse((await readInfo(nats.port)).replace(/^INFO /, ''));
      assert.notEqual(after.server_id, before);
    } finally {
      await nats.stop();
    }
    await assert.rejects(readInfo(nats.port), /ECONNREFUSED/);
  });

  it('can run without JetStream; stop is idempotent', async () => {
    const nats = await startNats({ jetstream: false });
    const info = JSON.parse((await readInfo(nats.port)).replace(/^INFO /, ''));
    assert.notEqual(info.jetstream, true);
    await nats.stop();
    await nats.stop();
  });
});
