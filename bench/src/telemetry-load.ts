// Access-log load: a bookinfo-like mesh as YAML for Galley, and pre-encoded Envoy-shaped
// StreamAccessLogsMessages sent over several client streams.
import * as grpc from '@grpc/grpc-js';
import { jsonToStruct, lookupType } from '@keel/proto';

export const ALS_METHOD = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';

export interface BenchPod {
  service: string;
  name: string;
  ip: string;
}

/** `n` services with one pod each in namespace `bench` (pod names in Deployment form). */
export function benchMesh(n: number): { pods: BenchPod[]; yaml: string } {
  const pods: BenchPod[] = [];
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    const service = `svc-${i}`;
    const pod = {
      service,
      name: `${service}-v1-6d7f8c9b5c-a${String(i).padStart(4, '0')}`,
      ip: `10.1.${i >> 8}.${(i & 255) + 1}`,
    };
    pods.push(pod);
    docs.push(
      `apiVersion: v1\nkind: Service\nmetadata: {name: ${service}, namespace: bench}\nspec:\n  selector: {app: ${service}}\n  ports: [{name: http, port: 9080}]`,
      `apiVersion: v1\nkind: Pod\nmetadata: {name: ${pod.name}, namespace: bench, labels: {app: ${service}, version: v1}}\nspec:\n  serviceAccountName: ${service}\n  containers: [{name: app, image: example}]\nstatus: {phase: Running, podIP: ${pod.ip}}`,
    );
  }
  return { pods, yaml: `${docs.join('\n---\n')}\n` };
}

function node(p: BenchPod): Record<string, unknown> {
  return {
    id: `sidecar~${p.ip}~${p.name}.bench~bench.svc.cluster.local`,
    metadata: jsonToStruct({
      NAMESPACE: 'bench',
      INSTANCE_IPS: p.ip,
      LABELS: { app: p.service, version: 'v1' },
    }),
  };
}

const addr = (ip: string, port: number) => ({ socket_address: { address: ip, port_value: port } });

/** One inbound HTTP entry at `to` from `from` (mTLS), Envoy-shaped. */
function httpEntry(from: BenchPod, to: BenchPod, code: number, i: number): Record<string, unknown> {
  return {
    common_properties: {
      downstream_remote_address: addr(from.ip, 40000 + (i % 20000)),
      downstream_local_address: addr(to.ip, 9080),
      upstream_remote_address: addr('127.0.0.1', 9080),
      start_time: { seconds: 1_700_000_000 + i, nanos: 0 },
      time_to_last_downstream_tx_byte: { seconds: 0, nanos: ((i % 97) + 1) * 1_000_000 },
      upstream_cluster: `inbound|9080|http|${to.service}.bench.svc.cluster.local`,
      tls_properties: {
        local_certificate_properties: {
          subject_alt_name: [{ uri: `spiffe://cluster.local/ns/bench/sa/${to.service}` }],
        },
        peer_certificate_properties: {
          subject_alt_name: [{ uri: `spiffe://cluster.local/ns/bench/sa/${from.service}` }],
        },
      },
    },
    protocol_version: 'HTTP11',
    request: {
      request_method: 'GET',
      scheme: 'http',
      authority: `${to.service}:9080`,
      path: `/api/${i % 50}`,
      user_agent: 'Mozilla/5.0',
      request_id: `req-${i}`,
      request_headers_bytes: 200,
      request_body_bytes: i % 3 === 0 ? 512 : 0,
      request_headers: { 'x-request-id': `req-${i}`, 'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124' },
    },
    response: {
      response_code: { value: code },
      response_headers_bytes: 120,
      response_body_bytes: 1000 + (i % 500),
    },
  };
}

/**
 * Pre-encoded messages for a reporter pod: the first carries the node. Each entry is a call from
 * one of `sources` (cycled) to the reporter; codes mostly 200, some 404/503.
 */
export function encodeReporterMessages(
  reporter: BenchPod,
  sources: readonly BenchPod[],
  messages: number,
  perMessage: number,
): Buffer[] {
  const t = lookupType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
  const out: Buffer[] = [];
  let i = 0;
  for (let m = 0; m < messages; m++) {
    const entries = [];
    for (let e = 0; e < perMessage; e++, i++) {
      const code = i % 50 === 0 ? 503 : i % 20 === 0 ? 404 : 200;
      entries.push(httpEntry(sources[i % sources.length]!, reporter, code, i));
    }
    const obj: Record<string, unknown> = { http_logs: { log_entry: entries } };
    if (m === 0) obj.identifier = { node: node(reporter), log_name: 'keel-mixer' };
    out.push(Buffer.from(t.encode(t.fromObject(obj)).finish()));
  }
  return out;
}

/** Sends each stream's messages (respecting flow control), half-closes, resolves when all are OK. */
export async function sendStreams(address: string, streams: readonly Buffer[][]): Promise<void> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 4 * 1024 * 1024,
  });
  try {
    await Promise.all(
      streams.map(
        (msgs) =>
          new Promise<void>((resolve, reject) => {
            const call = client.makeClientStreamRequest(
              ALS_METHOD,
              (b: Buffer) => b,
              (b: Buffer) => b,
              (err) => (err ? reject(err) : resolve()),
            );
            let i = 0;
            const pump = () => {
              while (i < msgs.length) {
                if (!call.write(msgs[i++])) return void call.once('drain', pump);
              }
              call.end();
            };
            pump();
          }),
      ),
    );
  } finally {
    client.close();
  }
}
