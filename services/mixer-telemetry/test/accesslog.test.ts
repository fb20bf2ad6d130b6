// Envoy-shaped access-log streams -> istio_* series with Istio 1.4 label values (default config
// served by a real Galley over MCP), and a malformed stream closed on its own.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { waitFor } from '@keel/testing';
import { alsClient, encodeMessage, httpEntries, openStream, PODS, sidecarNode, tcpEntry } from './envoy.js';
import { type Plane, startPlane } from './harness.js';
import { find, type Sample, sum } from './promtext.js';

const { productpage, reviews, details, ratings, mongodb } = PODS;

describe('access-log streams -> istio_* metrics (default Istio 1.4 config)', () => {
  let plane: Plane;
  let client: grpc.Client;
  let samples: Sample[];

  before(async () => {
    plane = await startPlane();
    client = alsClient(plane.ports.grpcPort);
    assert.deepEqual(plane.telemetry.configErrors(), []);
    const pp = openStream(client);
    const rv = openStream(client);
    const ra = openStream(client);
    const calls = [
      httpEntries({
        from: productpage,
        to: reviews,
        service: 'reviews',
        mtls: true,
        durationMs: 30,
        responseBytes: 295,
      }),
      httpEntries({
        from: productpage,
        to: reviews,
        service: 'reviews',
        mtls: true,
        code: 503,
        flags: { upstream_connection_failure: true, upstream_retry_limit_exceeded: true },
      }),
      httpEntries({ from: productpage, to: details, service: 'details', mtls: false }),
      httpEntries({ from: reviews, to: ratings, service: 'ratings', grpc: true, mtls: true }),
    ];
    const probe = httpEntries({
      from: productpage,
      to: reviews,
      service: 'reviews',
      userAgent: 'kube-probe/1.16',
    });
    // Client side (outbound) from productpage: node on the first message only.
    pp.send(
      encodeMessage({ node: sidecarNode(productpage), http: [calls[0]!.outbound, calls[1]!.outbound] }),
    );
    pp.send(encodeMessage({ http: [calls[2]!.outbound, probe.outbound] }));
    // Server side (inbound) at reviews, then reviews' own outbound gRPC call to ratings.
    rv.send(
      encodeMessage({
        node: sidecarNode(reviews),
        http: [calls[0]!.inbound, calls[1]!.inbound, calls[3]!.outbound],
      }),
    );
    ra.send(encodeMessage({ node: sidecarNode(ratings), http: [calls[3]!.inbound] }));
    // TCP from ratings to mongodb: open, periodic, close (bytes are totals so far), and a short
    // connection logged only at its end.
    const tcp = (
      type: 'TcpUpstreamConnected' | 'TcpPeriodic' | 'TcpConnectionEnd',
      sent: number,
      received: number,
    ) =>
      tcpEntry({
        from: ratings,
        to: mongodb,
        service: 'mongodb',
        port: 27017,
        direction: 'outbound',
        type,
        sent,
        received,
        streamId: 'c1',
      });
    ra.send(encodeMessage({ tcp: [tcp('TcpUpstreamConnected', 0, 0)] }));
    ra.send(encodeMessage({ tcp: [tcp('TcpPeriodic', 100, 40), tcp('TcpConnectionEnd', 300, 90)] }));
    ra.send(
      encodeMessage({
        tcp: [
          tcpEntry({
            from: ratings,
            to: mongodb,
            service: 'mongodb',
            port: 27017,
            direction: 'outbound',
            sent: 10,
            received: 5,
          }),
        ],
      }),
    );
    // Server side of a TCP connection at mongodb, over mTLS: one entry at close.
    const mg = openStream(client);
    mg.send(
      encodeMessage({
        node: sidecarNode(mongodb),
        tcp: [
          tcpEntry({
            from: ratings,
            to: mongodb,
            service: 'mongodb',
            port: 27017,
            direction: 'inbound',
            sent: 64,
            received: 32,
            mtls: true,
          }),
        ],
      }),
    );
    for (const s of [pp, rv, ra, mg]) assert.equal((await s.end()).code, grpc.status.OK);
    samples = await plane.samples();
  });
  after(async () => {
    client?.close();
    await plane?.stop();
  });

  it('inbound HTTP over mTLS: reporter destination, principals, mutual_tls, 1.4 label values', () => {
    const s = find(samples, 'istio_requests_total', {
      reporter: 'destination',
      response_code: '200',
      destination_app: 'reviews',
    });
    assert.equal(s.length, 1);
    assert.deepEqual(s[0]!.labels, {
      reporter: 'destination',
      source_app: 'productpage',
      source_principal: 'cluster.local/ns/default/sa/bookinfo-productpage',
      source_workload: 'productpage-v1',
      source_workload_namespace: 'default',
      source_version: 'v1',
      destination_app: 'reviews',
      destination_principal: 'cluster.local/ns/default/sa/bookinfo-reviews',
      destination_workload: 'reviews-v2',
      destination_workload_namespace: 'default',
      destination_version: 'v2',
      destination_service: 'reviews.default.svc.cluster.local',
      destination_service_name: 'reviews',
      destination_service_namespace: 'default',
      request_protocol: 'http',
      response_code: '200',
      response_flags: '-',
      permissive_response_code: 'none',
      permissive_response_policyid: 'none',
      connection_security_policy: 'mutual_tls',
    });
    assert.equal(s[0]!.value, 1);
  });

  it('outbound HTTP: reporter source, connection_security_policy unknown, peers from Galley pods', () => {
    const s = find(samples, 'istio_requests_total', {
      reporter: 'source',
      destination_app: 'reviews',
      response_code: '200',
    });
    assert.equal(s.length, 1);
    assert.equal(s[0]!.labels.source_workload, 'productpage-v1');
    assert.equal(s[0]!.labels.destination_workload, 'reviews-v2');
    assert.equal(s[0]!.labels.destination_version, 'v2');
    assert.equal(s[0]!.labels.connection_security_policy, 'unknown');
    assert.equal(s[0]!.labels.source_principal, 'unknown');
  });

  it('response flags and codes: a 503 with UF,URX on both sides', () => {
    const s = find(samples, 'istio_requests_total', { response_code: '503', response_flags: 'UF,URX' });
    assert.deepEqual(s.map((x) => x.labels.reporter).sort(), ['destination', 'source']);
  });

  it('plain-text inbound is connection_security_policy none', () => {
    const s = find(samples, 'istio_requests_total', { reporter: 'destination', destination_app: 'details' });
    assert.equal(s.length, 0, 'details got no inbound entry');
    const out = find(samples, 'istio_requests_total', { reporter: 'source', destination_app: 'details' });
    assert.equal(sum(out), 1);
  });

  it('gRPC calls are request_protocol grpc', () => {
    const s = find(samples, 'istio_requests_total', { destination_app: 'ratings', request_protocol: 'grpc' });
    assert.deepEqual(s.map((x) => x.labels.reporter).sort(), ['destination', 'source']);
    const inbound = s.find((x) => x.labels.reporter === 'destination')!;
    assert.equal(inbound.labels.connection_security_policy, 'mutual_tls');
    assert.equal(inbound.labels.source_workload, 'reviews-v2');
  });

  it('kube-probe requests are not counted (promhttp match)', () => {
    // productpage's 3 outbound calls + their 2 inbound entries at reviews; the probe is not among them.
    assert.equal(sum(find(samples, 'istio_requests_total', { source_app: 'productpage' })), 5);
  });

  it('durations and sizes land in the 1.4 buckets', () => {
    const sel = { reporter: 'destination', destination_app: 'reviews', response_code: '200' };
    const b = find(samples, 'istio_request_duration_seconds_bucket', sel);
    assert.equal(b.find((x) => x.labels.le === '0.025')!.value, 0);
    assert.equal(b.find((x) => x.labels.le === '0.05')!.value, 1);
    assert.equal(find(samples, 'istio_request_duration_seconds_sum', sel)[0]!.value, 0.03);
    const rb = find(samples, 'istio_response_bytes_bucket', sel);
    assert.deepEqual(
      rb.map((x) => x.labels.le),
      ['1', '10', '100', '1000', '10000', '100000', '1000000', '10000000', '100000000', '+Inf'],
    );
    assert.equal(rb.find((x) => x.labels.le === '100')!.value, 0);
    assert.equal(rb.find((x) => x.labels.le === '1000')!.value, 1);
    assert.equal(find(samples, 'istio_request_bytes_count', sel)[0]!.value, 1);
  });

  it('TCP: connections opened and closed, byte deltas summed to the totals', () => {
    const sel = { destination_service: 'mongodb.default.svc.cluster.local', reporter: 'source' };
    assert.equal(sum(find(samples, 'istio_tcp_connections_opened_total', sel)), 2);
    assert.equal(sum(find(samples, 'istio_tcp_connections_closed_total', sel)), 2);
    assert.equal(sum(find(samples, 'istio_tcp_sent_bytes_total', sel)), 310);
    assert.equal(sum(find(samples, 'istio_tcp_received_bytes_total', sel)), 95);
    const one = find(samples, 'istio_tcp_sent_bytes_total', sel)[0]!;
    assert.deepEqual(Object.keys(one.labels), [
      'reporter',
      'source_app',
      'source_principal',
      'source_workload',
      'source_workload_namespace',
      'source_version',
      'destination_app',
      'destination_principal',
      'destination_workload',
      'destination_workload_namespace',
      'destination_version',
      'destination_service',
      'destination_service_name',
      'destination_service_namespace',
      'connection_security_policy',
      'response_flags',
    ]);
    assert.equal(one.labels.destination_workload, 'mongodb-v1');
    assert.equal(one.labels.source_workload, 'ratings-v2');
  });

  it('inbound TCP over mTLS: reporter destination, principals, mutual_tls, open and close counted', () => {
    const sel = { reporter: 'destination', destination_workload: 'mongodb-v1' };
    const sent = find(samples, 'istio_tcp_sent_bytes_total', sel);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.value, 64);
    assert.equal(sent[0]!.labels.connection_security_policy, 'mutual_tls');
    assert.equal(sent[0]!.labels.source_principal, 'cluster.local/ns/default/sa/bookinfo-ratings');
    assert.equal(sent[0]!.labels.source_workload, 'ratings-v2');
    assert.equal(sum(find(samples, 'istio_tcp_received_bytes_total', sel)), 32);
    assert.equal(sum(find(samples, 'istio_tcp_connections_opened_total', sel)), 1);
    assert.equal(sum(find(samples, 'istio_tcp_connections_closed_total', sel)), 1);
  });

  it('a malformed or truncated message closes only its stream with INVALID_ARGUMENT', async () => {
    const before = sum(find(await plane.samples(), 'istio_requests_total'));
    const good = openStream(client);
    good.send(
      encodeMessage({
        node: sidecarNode(productpage),
        http: [httpEntries({ from: productpage, to: details, service: 'details' }).outbound],
      }),
    );
    const bad = openStream(client);
    const full = encodeMessage({
      node: sidecarNode(reviews),
      http: [httpEntries({ from: reviews, to: ratings, service: 'ratings' }).outbound],
    });
    bad.send(full.subarray(0, full.length - 7));
    const err = await bad.closed;
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err!.details, /malformed StreamAccessLogsMessage/);
    const noNode = openStream(client);
    noNode.send(
      encodeMessage({ http: [httpEntries({ from: reviews, to: ratings, service: 'ratings' }).outbound] }),
    );
    const err2 = await noNode.closed;
    assert.equal(err2?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err2!.details, /identifier\.node/);
    // The good stream keeps working after the others failed.
    good.send(
      encodeMessage({ http: [httpEntries({ from: productpage, to: details, service: 'details' }).outbound] }),
    );
    assert.equal((await good.end()).code, grpc.status.OK);
    await waitFor(async () => sum(find(await plane.samples(), 'istio_requests_total')) === before + 2, {
      what: 'the good stream counted',
    });
    assert.equal(plane.telemetry.alsStats()!.rejectedStreams, 2);
  });
});
