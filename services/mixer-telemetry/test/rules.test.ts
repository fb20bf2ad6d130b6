// Report rules over Istio 1.4 config: the bookinfo telemetry samples (Galley -> MCP), stdio
// log lines, tracespans to an in-memory OpenTelemetry exporter, NATS JetStream log entries, a
// type error rejected with its position, and Mixer Report with delta-encoded attributes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Duration, encodeReport, MapBag } from '@keel/attributes';
import { serviceClient } from '@keel/proto';
import { type NatsServer, once, sharedTestdata, startNats } from '@keel/testing';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { alsClient, encodeMessage, httpEntries, openStream, PODS, sidecarNode, tcpEntry } from './envoy.js';
import { type Plane, startPlane } from './harness.js';
import { find, sum } from './promtext.js';

const { productpage, reviews, ratings, mongodb } = PODS;
const sample = (f: string) => sharedTestdata('samples', 'bookinfo', 'telemetry', f);

const TRACESPAN = `
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: default-span, namespace: istio-system}
spec:
  compiledTemplate: tracespan
  params:
    traceId: request.headers["x-b3-traceid"]
    spanId: request.headers["x-b3-spanid"] | ""
    parentSpanId: request.headers["x-b3-parentspanid"] | ""
    spanName: request.path | "/"
    startTime: request.time
    endTime: response.time
    clientSpan: (context.reporter.kind | "inbound") == "outbound"
    rewriteClientSpanId: "false"
    httpStatusCode: response.code | 0
    sourceName: source.workload.name | "unknown"
    destinationName: destination.workload.name | "unknown"
    requestSize: request.size | 0
    responseSize: response.size | 0
    apiProtocol: api.protocol | "http"
    spanTags:
      http.method: request.method | ""
      http.url: request.path | ""
      destination.service: destination.service.host | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: otel, namespace: istio-system}
spec:
  compiledAdapter: zipkin
  params: {url: "http://jaeger:9411/api/v1/spans"}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: tracing, namespace: istio-system}
spec:
  match: context.protocol == "http" || context.protocol == "grpc"
  actions:
  - handler: otel
    instances: [default-span]
`;

const NATSLOG = `
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: natsentry, namespace: istio-system}
spec:
  compiledTemplate: logentry
  params:
    severity: '"info"'
    timestamp: request.time
    variables:
      path: request.path | ""
      responseCode: response.code | 0
      destination: destination.workload.name | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: jetstream, namespace: istio-system}
spec:
  compiledAdapter: natslog
  params: {}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: natslog, namespace: istio-system}
spec:
  match: context.protocol == "http"
  actions:
  - handler: jetstream
    instances: [natsentry]
`;

const BAD_RULE = `
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: typo, namespace: istio-system}
spec:
  match: context.protocol == 42
  actions:
  - handler: doublehandler
    instances: [doublerequestcount]
`;

describe('report rules: bookinfo samples, stdio, tracespan, NATS, type errors, Mixer Report', () => {
  let plane: Plane;
  let nats: NatsServer;
  let client: grpc.Client;

  before(async () => {
    nats = await startNats();
    plane = await startPlane([sample('metrics.yaml'), sample('log-entry.yaml'), sample('tcp-metrics.yaml')], {
      natsUrl: nats.url,
    });
    client = alsClient(plane.ports.grpcPort);
  });
  after(async () => {
    client?.close();
    await plane?.stop();
    await nats?.stop();
  });

  async function sendHttp(n: number): Promise<void> {
    const s = openStream(client);
    const entries = Array.from(
      { length: n },
      (_, i) =>
        httpEntries({
          from: productpage,
          to: reviews,
          service: 'reviews',
          mtls: true,
          path: `/reviews/${i}`,
          headers: {
            'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124',
            'x-b3-spanid': `a2fb4a1d1a96d31${i % 10}`,
            'x-b3-parentspanid': '0020000000000001',
          },
        }).inbound,
    );
    s.send(encodeMessage({ node: sidecarNode(reviews), http: entries }));
    assert.equal((await s.end()).code, grpc.status.OK);
  }

  it('double_request_count rises by 2 per request, with the sample dimensions', async () => {
    assert.deepEqual(plane.telemetry.configErrors(), []);
    const before = sum(find(await plane.samples(), 'istio_double_request_count'));
    await sendHttp(3);
    const s = find(await plane.samples(), 'istio_double_request_count');
    assert.equal(sum(s) - before, 6);
    assert.deepEqual(s[0]!.labels, {
      reporter: 'server',
      source: 'productpage-v1',
      destination: 'reviews-v2',
      message: 'twice the fun!',
    });
  });

  it('newlog entries appear on stdout as JSON at warn level', () => {
    const lines = plane.stdout.lines().map((l) => JSON.parse(l));
    const newlog = lines.filter((l) => l.instance === 'newlog.instance.istio-system');
    assert.ok(newlog.length >= 3);
    assert.deepEqual(
      { ...newlog[0], time: undefined },
      {
        level: 'warn',
        time: undefined,
        instance: 'newlog.instance.istio-system',
        source: 'productpage',
        user: 'unknown',
        destination: 'reviews',
        responseCode: 200,
        responseSize: 350,
        latency: '12ms',
      },
    );
    assert.equal(newlog[0].time, '2023-11-14T22:13:20.000Z');
  });

  it('mongo TCP byte metrics count (rule in namespace default, match on the service host)', async () => {
    const s = openStream(client);
    const conn = (type: 'TcpUpstreamConnected' | 'TcpConnectionEnd', sent: number, received: number) =>
      tcpEntry({
        from: ratings,
        to: mongodb,
        service: 'mongodb',
        port: 27017,
        direction: 'outbound',
        type,
        sent,
        received,
        streamId: 'm1',
      });
    s.send(
      encodeMessage({
        node: sidecarNode(ratings),
        tcp: [conn('TcpUpstreamConnected', 0, 0), conn('TcpConnectionEnd', 1200, 340)],
      }),
    );
    // TCP to another service does not match the mongo rule.
    s.send(
      encodeMessage({
        tcp: [
          tcpEntry({
            from: ratings,
            to: reviews,
            service: 'reviews',
            port: 9080,
            direction: 'outbound',
            sent: 5,
            received: 5,
          }),
        ],
      }),
    );
    assert.equal((await s.end()).code, grpc.status.OK);
    const samples = await plane.samples();
    const sel = { source_service: 'ratings-v2', source_version: 'v2', destination_version: 'v1' };
    assert.equal(sum(find(samples, 'istio_mongo_sent_bytes', sel)), 1200);
    assert.equal(sum(find(samples, 'istio_mongo_received_bytes', sel)), 340);
    assert.equal(find(samples, 'istio_mongo_sent_bytes').length, 1);
  });

  it('tracespans reach the OpenTelemetry exporter with the tracespan fields', async () => {
    await plane.addConfig('tracing.yaml', TRACESPAN);
    assert.deepEqual(plane.telemetry.configErrors(), []);
    plane.spans.reset();
    await sendHttp(2);
    await plane.telemetry.flushSpans();
    const spans = plane.spans.getFinishedSpans();
    assert.equal(spans.length, 2);
    const s = spans.find((x) => x.attributes['http.url'] === '/reviews/1')!;
    assert.equal(s.spanContext().traceId, '463ac35c9f6413ad48485a3953bb6124');
    assert.equal(s.spanContext().spanId, 'a2fb4a1d1a96d311');
    assert.equal(s.parentSpanContext?.spanId, '0020000000000001');
    assert.equal(s.name, '/reviews/1');
    assert.equal(s.kind, 1 /* SERVER: inbound report */);
    assert.equal(s.attributes['http.status_code'], 200);
    assert.equal(s.attributes['source.name'], 'productpage-v1');
    assert.equal(s.attributes['destination.name'], 'reviews-v2');
    assert.equal(s.attributes['destination.service'], 'reviews.default.svc.cluster.local');
    assert.equal(s.attributes['response.size'], 350);
    assert.deepEqual(s.startTime, [1_700_000_000, 0]);
    assert.deepEqual(s.endTime, [1_700_000_000, 12_000_000]);
  });

  it('log entries reach the KEEL_ACCESSLOG JetStream stream', async () => {
    if (!plane.telemetry.natsConnected()) await once(plane.telemetry.events, 'nats', 10_000);
    await plane.addConfig('natslog.yaml', NATSLOG);
    await sendHttp(1);
    const nc = await connect({ servers: nats.url });
    try {
      const js = jetstream(nc);
      const consumer = await js.consumers.get('KEEL_ACCESSLOG');
      const msg = await consumer.next({ expires: 5000 });
      assert.ok(msg, 'a log entry in the stream');
      const entry = msg.json<Record<string, unknown>>();
      assert.equal(entry.instance, 'natsentry.instance.istio-system');
      assert.equal(entry.destination, 'reviews-v2');
      assert.equal(entry.responseCode, 200);
      assert.equal(entry.path, '/reviews/0');
    } finally {
      await nc.close();
    }
  });

  it('a rule with a type error is rejected with its position; the others keep working', async () => {
    await plane.addConfig('bad.yaml', BAD_RULE);
    const errors = plane.telemetry.configErrors();
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.resource, 'typo.rule.istio-system');
    assert.match(errors[0]!.message, /1:\d+: /);
    const before = sum(find(await plane.samples(), 'istio_double_request_count'));
    await sendHttp(1);
    assert.equal(sum(find(await plane.samples(), 'istio_double_request_count')) - before, 2);
  });

  it('attributes declared by an attributemanifest are usable in rules (carried by Mixer Report)', async () => {
    await plane.addConfig(
      'tenant.yaml',
      `
apiVersion: config.istio.io/v1alpha2
kind: attributemanifest
metadata: {name: tenants, namespace: istio-system}
spec:
  name: tenants
  attributes:
    custom.tenant: {valueType: STRING}
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: pertenant, namespace: istio-system}
spec:
  compiledTemplate: metric
  params: {value: "1", dimensions: {tenant: custom.tenant | "none"}}
---
apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: tenantprom, namespace: istio-system}
spec:
  compiledAdapter: prometheus
  params: {metrics: [{name: tenant_requests_total, instance_name: pertenant.instance.istio-system, kind: COUNTER, label_names: [tenant]}]}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: tenants, namespace: istio-system}
spec:
  match: custom.tenant | "" != ""
  actions: [{handler: tenantprom, instances: [pertenant]}]
`,
    );
    assert.deepEqual(
      plane.telemetry.configErrors().filter((e) => !e.resource.startsWith('typo.')),
      [],
    );
    const Mixer = serviceClient('istio.mixer.v1.Mixer');
    const mixer = new Mixer(`127.0.0.1:${plane.ports.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const bags = ['acme', 'acme', 'globex'].map(
        (t) =>
          new MapBag({ 'context.protocol': 'tcp', 'custom.tenant': t, 'destination.namespace': 'default' }),
      );
      const err = await new Promise((resolve) =>
        mixer.Report(encodeReport(bags)[0], (e: unknown) => resolve(e)),
      );
      assert.equal(err, null);
      const s = await plane.samples();
      assert.equal(sum(find(s, 'istio_tenant_requests_total', { tenant: 'acme' })), 2);
      assert.equal(sum(find(s, 'istio_tenant_requests_total', { tenant: 'globex' })), 1);
    } finally {
      mixer.close();
    }
  });

  it('istio.mixer.v1.Mixer/Report: delta-encoded bags through the same rules', async () => {
    const Mixer = serviceClient('istio.mixer.v1.Mixer');
    const mixer = new Mixer(`127.0.0.1:${plane.ports.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const bag = (code: number) =>
        new MapBag({
          'context.protocol': 'http',
          'context.reporter.kind': 'inbound',
          'source.uid': `kubernetes://${productpage.name}.default`,
          'destination.uid': `kubernetes://${reviews.name}.default`,
          'destination.service.host': 'reviews.default.svc.cluster.local',
          'destination.service.name': 'reviews',
          'destination.service.namespace': 'default',
          'source.principal': 'cluster.local/ns/default/sa/bookinfo-productpage',
          'connection.mtls': true,
          'request.useragent': 'Mozilla/5.0',
          'response.code': code,
          'response.duration': new Duration(5),
        });
      const requests = encodeReport([bag(200), bag(200), bag(404)]);
      assert.equal(requests.length, 1);
      // Delta encoding: the second bag equals the first, so its entry carries nothing.
      const second = requests[0]!.attributes[1]!;
      assert.equal(Object.keys({ ...second.strings, ...second.int64s, ...second.bools }).length, 0);
      const before = await plane.samples();
      const call = (req: unknown) =>
        new Promise<grpc.ServiceError | null>((resolve) =>
          mixer.Report(req, (e: grpc.ServiceError | null) => resolve(e)),
        );
      assert.equal(await call(requests[0]), null);
      const after = await plane.samples();
      const sel = {
        reporter: 'destination',
        source_workload: 'productpage-v1',
        destination_workload: 'reviews-v2',
        connection_security_policy: 'mutual_tls',
      };
      const delta = (code: string) =>
        sum(find(after, 'istio_requests_total', { ...sel, response_code: code })) -
        sum(find(before, 'istio_requests_total', { ...sel, response_code: code }));
      assert.equal(delta('200'), 2);
      assert.equal(delta('404'), 1);
      // A client with a bigger global dictionary than ours is refused, as Mixer did.
      const err = await call({ ...requests[0], global_word_count: 100_000 });
      assert.equal(err?.code, grpc.status.INTERNAL);
      assert.match(err!.details, /inconsistent global dictionary/);
    } finally {
      mixer.close();
    }
  });
});
