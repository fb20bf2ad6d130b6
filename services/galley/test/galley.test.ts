import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectBus, Subjects } from '@keel/bus';
import type { McpNackEvent } from '@keel/mcp';
import { unpackStruct } from '@keel/proto';
import { silentLogger } from '@keel/runtime';
import { type NatsServer, repoRoot, startNats, tempDir, withTimeout } from '@keel/testing';
import { createGalley, type Galley, servedCollections } from '../src/index.js';
import { recordingSink } from './harness.js';

const VS = 'istio/networking/v1alpha3/virtualservices';
const SERVICES = 'k8s/core/v1/services';

function vs(name: string, host: string, subset = 'v1'): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${host}]
  http:
  - route:
    - destination: {host: ${host}, subset: ${subset}}
`;
}

describe('galley in file mode (real MCP sink, real nats-server)', () => {
  let nats: NatsServer;
  let dir: { path: string; cleanup(): Promise<void> };
  let galley: Galley;
  let address: string;
  let monitoring: number;

  before(async () => {
    nats = await startNats();
    dir = await tempDir('galley-files-');
    await mkdir(join(dir.path, 'nested'));
    const local = join(repoRoot(), 'deploy/local/config');
    const { readFile } = await import('node:fs/promises');
    await writeFile(
      join(dir.path, 'platform.yaml'),
      await readFile(join(local, 'bookinfo-platform.yaml'), 'utf8'),
    );
    await writeFile(
      join(dir.path, 'nested', 'networking.yaml'),
      await readFile(join(local, 'bookinfo-networking.yaml'), 'utf8'),
    );
    galley = createGalley({
      configDir: dir.path,
      host: '127.0.0.1',
      mcpPort: 0,
      monitoringPort: 0,
      natsUrl: nats.url,
      logger: silentLogger,
    });
    const addrs = await galley.start();
    address = `127.0.0.1:${addrs.mcpPort}`;
    monitoring = addrs.monitoringPort;
  });

  after(async () => {
    await galley.stop();
    await dir.cleanup();
    await nats.stop();
  });

  it('serves every collection to a sink, with Struct bodies and ns/name names', async () => {
    const rec = recordingSink(address, servedCollections());
    rec.sink.start();
    await withTimeout(rec.sink.whenSynced(), 5000, 'sink sync');
    const services = [...rec.sink.state(SERVICES).keys()].sort();
    assert.deepEqual(services, [
      'default/details',
      'default/productpage',
      'default/ratings',
      'default/reviews',
    ]);
    const reviews = rec.sink.state(VS).get('default/reviews');
    assert.ok(reviews, 'reviews VirtualService served');
    assert.deepEqual(unpackStruct(reviews.body).hosts, ['reviews']);
    assert.equal(rec.sink.state('istio/mesh/v1alpha1/MeshConfig').size, 1);
    await rec.sink.stop();
  });

  it('answers /ready 200 after the first snapshot', async () => {
    const res = await fetch(`http://127.0.0.1:${monitoring}/ready`);
    assert.equal(res.status, 200);
  });

  it('follows file add, change and delete within 1.5 s each', async () => {
    const rec = recordingSink(address, [VS]);
    rec.sink.start();
    await withTimeout(rec.sink.whenSynced(), 5000, 'sink sync');
    const file = join(dir.path, 'nested', 'extra.yaml');
    let start = Date.now();
    await writeFile(file, vs('extra', 'details'));
    await rec.waitUpdate(
      (u) => u.resources.some((r) => r.metadata.name === 'default/extra'),
      1500,
      'add reaches sink',
    );
    assert.ok(Date.now() - start <= 1500);

    start = Date.now();
    await writeFile(file, vs('extra', 'details', 'v2'));
    const changed = await rec.waitUpdate(
      (u) =>
        u.changed.some(
          (r) => r.metadata.name === 'default/extra' && JSON.stringify(unpackStruct(r.body)).includes('"v2"'),
        ),
      1500,
      'change reaches sink',
    );
    assert.ok(changed);

    start = Date.now();
    await rm(file);
    await rec.waitUpdate(
      (u) => !u.resources.some((r) => r.metadata.name === 'default/extra'),
      1500,
      'delete reaches sink',
    );
    assert.ok(Date.now() - start <= 1500);
    await rec.sink.stop();
  });

  it('rejects a bad document without disturbing the rest, publishes the rejection and counts it', async () => {
    const bus = await connectBus({ url: nats.url, name: 'test' });
    const events: Array<{ name: string; reason: string; file?: string; line?: number }> = [];
    const gotEvent = new Promise<void>((resolve) => {
      bus.subscribe(Subjects.configRejected, (e) => {
        events.push(e as never);
        resolve();
      });
    });
    await bus.connection.flush();
    const rec = recordingSink(address, [VS]);
    rec.sink.start();
    await withTimeout(rec.sink.whenSynced(), 5000, 'sink sync');
    await writeFile(join(dir.path, 'mixed.yaml'), `${vs('fine', 'ratings')}---\n${vs('broken', 'foo.ba!r')}`);
    await rec.waitUpdate(
      (u) => u.resources.some((r) => r.metadata.name === 'default/fine'),
      1500,
      'good document applies',
    );
    await withTimeout(gotEvent, 3000, 'rejection event on NATS');
    const ev = events.find((e) => e.name === 'broken');
    assert.ok(ev, 'event names the rejected resource');
    assert.match(ev.reason, /domain name "foo.ba!r" invalid/);
    assert.equal(ev.file, 'mixed.yaml');
    assert.equal(ev.line, 10);
    assert.ok(!rec.sink.state(VS).has('default/broken'));
    const metrics = await (await fetch(`http://127.0.0.1:${monitoring}/metrics`)).text();
    assert.match(
      metrics,
      /galley_validation_failed\{group="networking.istio.io",version="v1alpha3",resource="virtualservices",reason="INVALID_SPEC"\} [1-9]/,
    );
    await rec.sink.stop();
    await bus.close();
  });

  it('counts the snapshot strategy: a file of two resources resets the quiet period once and publishes after it', async () => {
    const counter = (text: string, name: string): number => {
      const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
      assert.ok(m, `${name} exported`);
      return Number(m[1]);
    };
    const scrape = async () => (await fetch(`http://127.0.0.1:${monitoring}/metrics`)).text();
    const before = await scrape();
    const rec = recordingSink(address, [VS]);
    rec.sink.start();
    await withTimeout(rec.sink.whenSynced(), 5000, 'sink sync');
    try {
      await writeFile(
        join(dir.path, 'pair.yaml'),
        `${vs('pair-a', 'details')}---\n${vs('pair-b', 'ratings')}`,
      );
      await rec.waitUpdate(
        (u) =>
          ['default/pair-a', 'default/pair-b'].every((n) => u.resources.some((r) => r.metadata.name === n)),
        5000,
        'the pair reaches the sink',
      );
      const after = await scrape();
      const delta = (name: string) => counter(after, name) - counter(before, name);
      // Both resources change the store; the second arrives while the first is unfired: a reset.
      assert.ok(delta('galley_runtime_strategy_on_change_total') >= 2);
      assert.ok(delta('galley_runtime_strategy_timer_resets_total') >= 1);
      const quiesced = delta('galley_runtime_strategy_timer_quiesce_reached_total');
      assert.ok(quiesced >= 1);
      assert.equal(delta('galley_runtime_strategy_timer_max_time_reached_total'), 0);
      assert.equal(delta('galley_runtime_processor_snapshots_published_total'), quiesced);
      await rm(join(dir.path, 'pair.yaml'));
      await rec.waitUpdate(
        (u) => !u.resources.some((r) => r.metadata.name === 'default/pair-a'),
        5000,
        'pair removed',
      );
    } finally {
      await rec.sink.stop();
    }
  });

  it('records a sink NACK', async () => {
    const nacked = new Promise<McpNackEvent>((resolve) => {
      const on = (e: McpNackEvent) => {
        if (e.sinkId !== 'nacking-sink') return;
        galley.events.off('nack', on);
        resolve(e);
      };
      galley.events.on('nack', on);
    });
    const rec = recordingSink(address, [VS, SERVICES], { failOn: VS, sinkId: 'nacking-sink' });
    rec.sink.start();
    const e = await withTimeout(nacked, 5000, 'NACK from the sink');
    await rec.waitUpdate((u) => u.collection === SERVICES, 5000, 'services still applied');
    assert.equal(e.collection, VS);
    assert.match(e.error.message, /test sink refuses/);
    const stream = galley.mcp.streams().find((st) => st.sinkId === 'nacking-sink');
    assert.match(stream?.collections[VS]?.lastNack?.message ?? '', /test sink refuses/);
    assert.ok(rec.sink.state(SERVICES).size > 0, 'other collections still apply');
    await rec.sink.stop();
  });
});
