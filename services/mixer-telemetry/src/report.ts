// istio.mixer.v1.Mixer/Report: delta-encoded CompressedAttributes -> bags, enriched from Galley's
// pods (what Istio's kubernetesenv adapter added), -> the same Runtime as access logs.
import * as grpc from '@grpc/grpc-js';
import { ChildBag, decodeReport, type ReportRequestMessage } from '@keel/attributes';
import { serviceDefinition } from '@keel/proto';
import type { Logger } from '@keel/runtime';
import type { Bag } from './bag.js';
import type { MeshIndex, PodInfo } from './mesh.js';

export const MIXER_SERVICE = 'istio.mixer.v1.Mixer';
/** Report entries one request may carry. */
export const MAX_REPORT_ENTRIES = 10_000;

function podFor(bag: Bag, prefix: 'source' | 'destination', mesh: MeshIndex): PodInfo | undefined {
  const uid = bag.get(`${prefix}.uid`);
  if (typeof uid === 'string' && uid.startsWith('kubernetes://')) {
    const p = mesh.podById(uid.slice('kubernetes://'.length));
    if (p) return p;
  }
  const ip = bag.get(`${prefix}.ip`);
  if (ip instanceof Uint8Array) {
    const text = ip.length === 4 ? ip.join('.') : undefined;
    if (text) return mesh.podByIp(text);
  }
  return undefined;
}

/** Adds source.* / destination.* attributes the bag lacks, from the pods its uids or IPs name. */
export function enrichFromMesh(bag: Bag, mesh: MeshIndex): Bag {
  const child = new ChildBag(bag);
  for (const prefix of ['source', 'destination'] as const) {
    const pod = podFor(bag, prefix, mesh);
    if (!pod) continue;
    const put = (name: string, v: string | ReadonlyMap<string, string>) => {
      if (bag.get(`${prefix}.${name}`) === undefined) child.set(`${prefix}.${name}`, v);
    };
    put('uid', pod.uid);
    put('name', pod.name);
    put('namespace', pod.namespace);
    put('labels', pod.labels);
    put('serviceAccount', pod.serviceAccount);
    put('owner', pod.owner);
    put('workload.name', pod.workload);
    put('workload.namespace', pod.namespace);
    put('workload.uid', `istio://${pod.namespace}/workloads/${pod.workload}`);
  }
  return child;
}

export interface ReportServiceOptions {
  mesh: () => MeshIndex;
  report: (bags: Bag[]) => void;
  logger: Logger;
  stats: { requests: number; bags: number; errors: number };
}

/** Adds istio.mixer.v1.Mixer (Report; Check answers UNIMPLEMENTED: it is mixer-policy's). */
export function addMixerReportService(server: grpc.Server, opts: ReportServiceOptions): void {
  const Report: grpc.handleUnaryCall<ReportRequestMessage, Record<string, never>> = (call, callback) => {
    opts.stats.requests++;
    const req = call.request;
    if ((req.attributes?.length ?? 0) > MAX_REPORT_ENTRIES) {
      opts.stats.errors++;
      return callback({
        code: grpc.status.INVALID_ARGUMENT,
        details: `more than ${MAX_REPORT_ENTRIES} report entries`,
      });
    }
    const decoded = decodeReport(req, MAX_REPORT_ENTRIES);
    if (!decoded.ok) {
      opts.stats.errors++;
      const internal = /inconsistent global dictionary/.test(decoded.errors);
      return callback({
        code: internal ? grpc.status.INTERNAL : grpc.status.INVALID_ARGUMENT,
        details: decoded.errors,
      });
    }
    const mesh = opts.mesh();
    const bags = decoded.value.map((b) => enrichFromMesh(b, mesh));
    opts.stats.bags += bags.length;
    try {
      opts.report(bags);
    } catch (e) {
      opts.logger.error({ err: e }, 'report dispatch failed');
      return callback({ code: grpc.status.UNKNOWN, details: (e as Error).message });
    }
    callback(null, {});
  };
  const Check: grpc.handleUnaryCall<unknown, unknown> = (_call, callback) =>
    callback({
      code: grpc.status.UNIMPLEMENTED,
      details: 'Check is served by mixer-policy, not mixer-telemetry',
    });
  server.addService(serviceDefinition(MIXER_SERVICE), { Report, Check });
}
