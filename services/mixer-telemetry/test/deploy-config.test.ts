// The default telemetry config ships twice (Galley's local directory and the Kubernetes manifests):
// both hold the same documents, which match Istio 1.4's label sets (spec 4.9).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '@keel/testing';
import { parseAllDocuments } from 'yaml';

const docs = (file: string) =>
  parseAllDocuments(readFileSync(join(repoRoot(), file), 'utf8'))
    .map((d) => d.toJS())
    .filter(Boolean) as Array<Record<string, any>>;

const HTTP_LABELS =
  'reporter source_app source_principal source_workload source_workload_namespace source_version destination_app destination_principal destination_workload destination_workload_namespace destination_version destination_service destination_service_name destination_service_namespace request_protocol response_code response_flags permissive_response_code permissive_response_policyid connection_security_policy'.split(
    ' ',
  );
const TCP_LABELS = [...HTTP_LABELS.slice(0, 14), 'connection_security_policy', 'response_flags'];

describe('default telemetry config', () => {
  const local = docs('deploy/local/config/istio-telemetry.yaml');
  it('deploy/kubernetes carries the same documents as deploy/local', () => {
    assert.deepEqual(docs('deploy/kubernetes/istio-telemetry-config.yaml'), local);
  });
  it('has the eight istio_* metrics with the 1.4 kinds and label sets', () => {
    const handler = local.find((d) => d.kind === 'handler')!;
    const metrics = handler.spec.params.metrics as Array<Record<string, any>>;
    const byName = Object.fromEntries(metrics.map((m) => [m.name, m]));
    for (const n of ['requests_total', 'request_duration_seconds', 'request_bytes', 'response_bytes'])
      assert.deepEqual(byName[n].label_names, HTTP_LABELS, n);
    for (const n of [
      'tcp_sent_bytes_total',
      'tcp_received_bytes_total',
      'tcp_connections_opened_total',
      'tcp_connections_closed_total',
    ])
      assert.deepEqual(byName[n].label_names, TCP_LABELS, n);
    assert.deepEqual(
      byName.request_duration_seconds.buckets.explicit_buckets.bounds,
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    );
    assert.deepEqual(byName.request_bytes.buckets.exponentialBuckets, {
      numFiniteBuckets: 8,
      scale: 1,
      growthFactor: 10,
    });
    const rules = Object.fromEntries(
      local.filter((d) => d.kind === 'rule').map((r) => [r.metadata.name, r.spec.match]),
    );
    assert.equal(rules.promtcp, 'context.protocol == "tcp"');
    assert.match(rules.promhttp, /kube-probe\*/);
  });
});
