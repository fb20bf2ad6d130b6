// Renders one dashboard panel from real data for the README (not a test): galley + mixer-telemetry
// (harness) take synthetic Envoy-shaped traffic for about a minute, a real Prometheus scrapes them,
// the panel's own PromQL runs as a range query, and the series are drawn as SVG, then PNG via
// rsvg-convert (Debian librsvg2-bin). Usage: node services/mixer-telemetry/dist/test/render-panel.js OUT.png
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@keel/testing';
import { alsClient, encodeMessage, httpEntries, openStream, PODS, sidecarNode } from './envoy.js';
import { startPlane } from './harness.js';
import { startPrometheus } from './prometheus-server.js';

const DASHBOARD = 'istio-service.json';
const PANEL = 'Incoming Requests by Source and Response Code';
const out = process.argv[2] ?? join(repoRoot(), 'docs/images/service-dashboard-panel.png');
const dash = JSON.parse(readFileSync(join(repoRoot(), 'deploy/grafana/dashboards', DASHBOARD), 'utf8'));
const panel = dash.panels.find((p: { title: string }) => p.title === PANEL);
const expr = String(panel.targets[0].expr).replace('$service', 'reviews.default.svc.cluster.local');
const legend = String(panel.targets[0].legendFormat);

const plane = await startPlane();
const prom = await startPrometheus(join(repoRoot(), 'deploy/prometheus/prometheus.yml'), {
  'istio-mesh': `127.0.0.1:${plane.ports.metricsPort}`,
});
const client = alsClient(plane.ports.grpcPort);
const { productpage, reviews, details } = PODS;
const start = Date.now() / 1000;
const seconds = 75;
for (let t = 0; t < seconds; t++) {
  // productpage calls reviews at a rising rate with a burst of 503s in the middle; details calls reviews a little.
  const calls = [];
  const n = 5 + Math.round(t / 5);
  for (let i = 0; i < n; i++) {
    const code = t > 30 && t < 45 && i % 3 === 0 ? 503 : 200;
    calls.push(httpEntries({ from: productpage, to: reviews, service: 'reviews', mtls: true, code }).inbound);
  }
  for (let i = 0; i < 2; i++)
    calls.push(httpEntries({ from: details, to: reviews, service: 'reviews', mtls: true }).inbound);
  const s = openStream(client);
  s.send(encodeMessage({ node: sidecarNode(reviews), http: calls }));
  await s.end();
  await new Promise((r) => setTimeout(r, 1000));
}
await new Promise((r) => setTimeout(r, 3000));
const end = Date.now() / 1000;
const res = await fetch(
  `${prom.url}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${start + 20}&end=${end}&step=2`,
);
const body = (await res.json()) as {
  data: { result: Array<{ metric: Record<string, string>; values: [number, string][] }> };
};
client.close();
await prom.stop();
await plane.stop();

const W = 900;
const H = 400;
const L = 70;
const R = 260;
const T = 50;
const B = 70;
const series = body.data.result.map((r) => ({
  name: legend.replace(/\{\{(\w+)\}\}/g, (_, k: string) => r.metric[k] ?? ''),
  points: r.values.map(([x, y]) => [x, Number(y)] as [number, number]).filter(([, y]) => Number.isFinite(y)),
}));
const xs = series.flatMap((s) => s.points.map((p) => p[0]));
const ys = series.flatMap((s) => s.points.map((p) => p[1]));
const x0 = Math.min(...xs);
const x1 = Math.max(...xs);
const yMax = Math.max(...ys) * 1.1 || 1;
const px = (x: number) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
const py = (y: number) => H - B - (y / yMax) * (H - T - B);
const colors = ['#73bf69', '#f2495c', '#5794f2', '#ff9830', '#b877d9'];
const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
  const y = yMax * f;
  return `<line x1="${L}" y1="${py(y)}" x2="${W - R}" y2="${py(y)}" stroke="#2c3235"/><text x="${L - 8}" y="${py(y) + 4}" fill="#ccccdc" font-size="12" text-anchor="end">${y.toFixed(2)}</text>`;
});
const lines = series.map((s, i) => {
  const d = s.points.map(([x, y], j) => `${j ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
  const c = colors[i % colors.length];
  return `<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/><rect x="${W - R + 20}" y="${T + i * 22}" width="14" height="4" fill="${c}"/><text x="${W - R + 40}" y="${T + i * 22 + 6}" fill="#ccccdc" font-size="13">${s.name}</text>`;
});
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">
<rect width="100%" height="100%" fill="#181b1f"/>
<text x="${L}" y="28" fill="#ccccdc" font-size="16" font-family="sans-serif">${PANEL} (req/s) - service reviews.default.svc.cluster.local</text>
${grid.join('\n')}
${lines.join('\n')}
<text x="${L}" y="${H - B + 18}" fill="#8e8e8e" font-size="11">${new Date(x0 * 1000).toISOString().slice(11, 19)} UTC</text>
<text x="${W - R}" y="${H - B + 18}" fill="#8e8e8e" font-size="11" text-anchor="end">${new Date(x1 * 1000).toISOString().slice(11, 19)} UTC</text>
<text x="${L}" y="${H - 22}" fill="#6e6e6e" font-size="10">Real data: mixer-telemetry fed Envoy-shaped access logs, scraped by Prometheus 2.42; the panel PromQL of deploy/grafana/dashboards/${DASHBOARD}.</text>
<text x="${L}" y="${H - 8}" fill="#6e6e6e" font-size="10">Drawn by services/mixer-telemetry/test/render-panel.ts (not Grafana, which cannot run on the build machine).</text>
</svg>`;
const svgFile = out.replace(/\.png$/, '.svg');
writeFileSync(svgFile, svg);
execFileSync('rsvg-convert', ['-o', out, svgFile]);
console.log(`wrote ${out} (${series.length} series)`);
