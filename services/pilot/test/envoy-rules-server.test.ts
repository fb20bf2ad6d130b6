// A repaired part is reported by the running Pilot: a log line, a metric and a NATS event, each
// naming the config object (real MCP source, real ADS client, real nats-server).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, it } from 'node:test';
import { type Bus, connectBus, Subjects, type XdsRejectedEvent } from '@keel/bus';
import { createLogger } from '@keel/runtime';
import { type NatsServer, startNats, withTimeout } from '@keel/testing';
import { AdsClient, sidecarNode } from './server-ads.js';
import { type Harness, startHarness, waitEvent } from './server-harness.js';
import { echoRoutes, echoService } from './server-mesh.js';

const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
let nats: NatsServer;
let h: Harness;
let bus: Bus;
let ads: AdsClient | undefined;
const lines = new EventEmitter();
const logs: Array<Record<string, any>> = [];

before(async () => {
  nats = await startNats();
  const destination = {
    write(chunk: string) {
      const line = JSON.parse(chunk) as Record<string, any>;
      logs.push(line);
      lines.emit('line', line);
    },
  };
  const connected = waitEvent(lines, 'line', (l: Record<string, any>) => l.msg === 'NATS connected');
  h = await startHarness(undefined, {
    natsUrl: nats.url,
    logger: createLogger('pilot', { level: 'info', destination }),
  });
  await connected;
  bus = await connectBus({ url: nats.url, name: 'test' });
});

after(async () => {
  ads?.close();
  await h?.stop();
  await bus?.close();
  await nats?.stop();
});

it('a VirtualService setting Host is repaired and reported (log line, metric, NATS event)', async () => {
  const events: XdsRejectedEvent[] = [];
  const got = new Promise<void>((resolve) => {
    bus.subscribe(Subjects.xdsRejected, (e) => {
      events.push(e);
      resolve();
    });
  });
  await bus.connection.flush();
  const pods = [{ name: 'echo-0', ip: '127.0.0.1', version: 'v1' }];
  h.publish([
    ...echoService(pods, 7071),
    echoRoutes([
      {
        headers: { request: { set: { host: 'echo.example.com' } } },
        route: [{ destination: { host: 'echo' } }],
      },
    ]),
  ]);
  ads = new AdsClient(`127.0.0.1:${h.ports.grpcPort}`, sidecarNode('sleep-0', '10.40.0.99'));
  ads.write({ type_url: CDS, resource_names: [] });
  await withTimeout(got, 5000, 'xds.rejected event');
  assert.deepEqual(
    events.map((e) => [e.type, e.resource, e.config, e.action, e.pilot]),
    [['route', '7070', 'VirtualService default/echo', 'repaired', 'pilot-test']],
  );
  const line = logs.find((l) => l.level === 40 && l.config === 'VirtualService default/echo');
  assert.ok(line, 'a warning names the VirtualService');
  assert.match(String(line.msg), /VirtualService default\/echo: route 7070 .* repaired/);
  const metrics = (await h.get('/metrics', 'monitoring')).text;
  assert.match(metrics, /^pilot_xds_envoy_rules_rejected\{type="route",action="repaired"\} 1$/m);
});
