// A real Prometheus scrapes mixer-telemetry (42422-role and monitoring ports), Galley and Pilot
// after synthetic traffic; every panel query of every dashboard in deploy/grafana runs without
// error, and the key panels return data.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createPilot, type Pilot } from '@keel/pilot';
import { silentLogger } from '@keel/runtime';
import { repoRoot, waitFor } from '@keel/testing';
import { alsClient, encodeMessage, httpEntries, openStream, PODS, sidecarNode, tcpEntry } from './envoy.js';
import { type Plane, startPlane } from './harness.js';
import { type PromServer, startPrometheus } from './prometheus-server.js';

const GRAFANA = join(repoRoot(), 'deploy/grafana/dashboards');
const { productpage, reviews, ratings, mongodb } = PODS;

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: { query: string } | string }> };
}

/** Values a user would pick for each dashboard variable in this test's mesh. */
const VARIABLES: Record<string, string> = {
  service: 'reviews.default.svc.cluster.local',
  workload: 'reviews-v2',
  namespace: 'default',
};

/** Panels that must show data once the mesh has had traffic (by dashboard file). */
const KEY_PANELS: Record<string, string[]> = {
  'istio-mesh.json': [
    'Global Request Volume',
    'Global Success Rate (non-5xx responses)',
    'HTTP/gRPC Workloads',
    'TCP Workloads',
    'Requests by Response Code',
    'Request Duration P50 / P90 / P99',
    'mTLS Share of Inbound Requests',
  ],
  'istio-service.json': [
    'Client Request Volume',
    'Server Request Volume',
    'Server Success Rate (non-5xx responses)',
    'Incoming Requests by Source and Response Code',
    'Incoming Request Duration by Source',
    'Response Size by Source',
  ],
  'istio-workload.json': [
    'Incoming Request Volume',
    'Incoming Requests by Source and Response Code',
    'Outgoing Requests by Destination and Response Code',
  ],
  'pilot.json': [
    'Services',
    'Config Updates from Galley',
    'MCP ACKs Received by Pilot',
    'Memory (RSS)',
    'Up',
  ],
  'galley.json': ['MCP Clients', 'Resources by Collection', 'Snapshots Published', 'Memory (RSS)'],
  'mixer.json': [
    'Access-log Entries / s',
    'Dispatches / s',
    'Prometheus Adapter Series',
    'Config: Rules, Instances, Handlers',
    'Entries by Protocol',
    'CPU',
  ],
  // Citadel is not part of this test's plane: its panels must run, not show data.
  'citadel.json': [],
};

function substitute(expr: string): string {
  return expr.replace(/\$(\w+)/g, (_, v: string) => {
    const value = VARIABLES[v];
    if (value === undefined) throw new Error(`unknown dashboard variable $${v} in ${expr}`);
    return value;
  });
}

describe('Grafana dashboards against a real Prometheus', () => {
  let plane: Plane;
  let pilot: Pilot;
  let prom: PromServer;
  let client: grpc.Client;
  const dashboards = readdirSync(GRAFANA)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: f, dash: JSON.parse(readFileSync(join(GRAFANA, f), 'utf8')) as Dashboard }));

  async function traffic(round: number): Promise<void> {
    const out = openStream(client);
    const inb = openStream(client);
    const calls = Array.from({ length: 5 }, (_, i) =>
      httpEntries({
        from: productpage,
        to: reviews,
        service: 'reviews',
        mtls: true,
        code: i === 4 ? 503 : 200,
        durationMs: 10 + i * 20,
      }),
    );
    out.send(encodeMessage({ node: sidecarNode(productpage), http: calls.map((c) => c.outbound) }));
    inb.send(
      encodeMessage({
        node: sidecarNode(reviews),
        http: [
          ...calls.map((c) => c.inbound),
          httpEntries({ from: reviews, to: ratings, service: 'ratings', grpc: true }).outbound,
        ],
      }),
    );
    inb.send(
      encodeMessage({
        tcp: [
          tcpEntry({
            from: reviews,
            to: mongodb,
            service: 'mongodb',
            port: 27017,
            direction: 'outbound',
            sent: 100 * round,
            received: 40 * round,
            streamId: `r${round}`,
          }),
        ],
      }),
    );
    assert.equal((await out.end()).code, grpc.status.OK);
    assert.equal((await inb.end()).code, grpc.status.OK);
  }

  before(async () => {
    plane = await startPlane();
    pilot = createPilot({
      mcpAddress: `127.0.0.1:${plane.ports.mcpPort}`,
      host: '127.0.0.1',
      grpcPort: 0,
      httpPort: 0,
      monitoringPort: 0,
      debounceAfterMs: 20,
      debounceMaxMs: 200,
      logger: silentLogger,
    });
    const pilotReady = new Promise<void>((resolve) => pilot.events.once('ready', resolve));
    const pp = await pilot.start();
    await pilotReady;
    client = alsClient(plane.ports.grpcPort);
    prom = await startPrometheus(join(repoRoot(), 'deploy/prometheus/prometheus.yml'), {
      galley: `127.0.0.1:${plane.ports.galleyMonitoring}`,
      pilot: `127.0.0.1:${pp.monitoringPort}`,
      'istio-mesh': `127.0.0.1:${plane.ports.metricsPort}`,
      'istio-telemetry': `127.0.0.1:${plane.ports.monitoringPort}`,
    });
    // Two rounds of traffic, each seen by a scrape, so rate() has an increase to show.
    for (const round of [1, 2]) {
      await traffic(round);
      const want = 11 * round;
      await waitFor(
        async () => Number((await prom.query('sum(istio_requests_total)'))[0]?.value[1] ?? 0) === want,
        { timeoutMs: 15_000, what: `Prometheus to scrape round ${round}` },
      );
    }
    // rate() needs two samples of a series: wait until every job has been scraped up three times.
    await waitFor(
      async () =>
        (await prom.query('count_over_time(up{job=~"galley|pilot|istio-telemetry|istio-mesh"}[1m]) >= 3'))
          .length === 4,
      { timeoutMs: 15_000, what: 'every service scraped three times' },
    );
  });
  after(async () => {
    client?.close();
    await prom?.stop();
    await pilot?.stop();
    await plane?.stop();
  });

  it('ships the mesh, service, workload and control-plane dashboards, each panel with a query', () => {
    assert.deepEqual(
      dashboards.map((d) => d.file),
      [
        'citadel.json',
        'galley.json',
        'istio-mesh.json',
        'istio-service.json',
        'istio-workload.json',
        'mixer.json',
        'pilot.json',
      ],
    );
    for (const { file, dash } of dashboards) {
      assert.ok(dash.uid && dash.title, file);
      for (const p of dash.panels)
        assert.ok((p.targets ?? []).length > 0, `${file}: panel ${p.title} has no query`);
      for (const key of KEY_PANELS[file] ?? [])
        assert.ok(
          dash.panels.some((p) => p.title === key),
          `${file}: ${key}`,
        );
    }
  });

  it('every dashboard variable query resolves to the values the panels are tested with', async () => {
    for (const { file, dash } of dashboards) {
      for (const v of dash.templating.list) {
        const q = typeof v.query === 'string' ? v.query : v.query.query;
        const m = /^label_values\((.+), *(\w+)\)$/.exec(q);
        assert.ok(m, `${file}: variable ${v.name} is label_values(metric, label)`);
        const values = await prom.labelValues(m[2]!, substitute(m[1]!));
        assert.ok(values.includes(VARIABLES[v.name]!), `${file}: $${v.name} offers ${values.join(', ')}`);
      }
    }
  });

  it('every panel query runs without error; key panels return data', async () => {
    const empty: string[] = [];
    let queries = 0;
    for (const { file, dash } of dashboards) {
      for (const p of dash.panels) {
        let rows = 0;
        for (const t of p.targets ?? []) {
          queries++;
          const result = await prom.query(substitute(t.expr));
          rows += result.filter((r) => r.value[1] !== 'NaN').length;
        }
        if ((KEY_PANELS[file] ?? []).includes(p.title) && rows === 0) empty.push(`${file}: ${p.title}`);
      }
    }
    assert.deepEqual(empty, [], 'key panels without data');
    assert.ok(queries > 80, `${queries} queries`);
  });

  it('the mesh dashboard numbers match the traffic sent', async () => {
    const rate = await prom.query('sum(istio_requests_total{reporter="destination", response_code="503"})');
    assert.equal(rate[0]!.value[1], '2');
    const mtls = await prom.query(
      'sum(istio_requests_total{reporter="destination", connection_security_policy="mutual_tls"}) / sum(istio_requests_total{reporter="destination"})',
    );
    assert.equal(Number(mtls[0]!.value[1]), 1);
    const inbound = await prom.query('sum(istio_requests_total{reporter="destination"})');
    assert.equal(inbound[0]!.value[1], '10');
    const tcp = await prom.query(
      'sum(istio_tcp_sent_bytes_total{destination_service="mongodb.default.svc.cluster.local"})',
    );
    assert.equal(tcp[0]!.value[1], '300');
  });
});
