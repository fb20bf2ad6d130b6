import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Counter } from 'prom-client';
import { createMonitoringServer, type MonitoringServer, newRegistry } from '../src/index.js';

describe('monitoring server', () => {
  const registry = newRegistry('galley', '1.2.3');
  const counter = new Counter({ name: 'galley_test_total', help: 'test', registers: [registry] });
  let readyState: boolean | 'throw' = false;
  let server: MonitoringServer;
  let base: string;

  before(async () => {
    server = createMonitoringServer({
      port: 0,
      host: '127.0.0.1',
      registry,
      version: '1.2.3',
      ready: () => {
        if (readyState === 'throw') throw new Error('not wired');
        return readyState;
      },
      routes: (app) => app.get('/debug/hello', async () => ({ hello: 'world' })),
    });
    const { port } = await server.start();
    assert.ok(port > 0);
    base = `http://127.0.0.1:${port}`;
  });
  after(() => server.stop());

  it('serves Prometheus text with process metrics, istio_build and registered metrics', async () => {
    counter.inc(3);
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0.0.4/);
    const body = await res.text();
    assert.match(body, /^istio_build\{component="galley",tag="1.2.3"\} 1$/m);
    assert.match(body, /^galley_test_total 3$/m);
    assert.match(body, /^process_cpu_user_seconds_total /m);
    assert.match(body, /^nodejs_heap_size_used_bytes /m);
  });

  it('answers /healthz and /version', async () => {
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    const version = await fetch(`${base}/version`);
    assert.deepEqual(await version.json(), { version: '1.2.3', node: process.version });
  });

  it('reports readiness from the callback, 503 when false or throwing', async () => {
    readyState = false;
    assert.equal((await fetch(`${base}/ready`)).status, 503);
    readyState = true;
    assert.equal((await fetch(`${base}/ready`)).status, 200);
    readyState = 'throw';
    assert.equal((await fetch(`${base}/ready`)).status, 503);
  });

  it('serves extra routes', async () => {
    const res = await fetch(`${base}/debug/hello`);
    assert.deepEqual(await res.json(), { hello: 'world' });
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  });
});
