// Load for the policy rows: ext_authz CheckRequests shaped as Envoy sends them, over grpc-js.
import * as grpc from '@grpc/grpc-js';
import { serviceClient } from '@keel/proto';
import { nowMs, quantile } from './stats.js';

const SOURCES = ['productpage-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'details-v1'];

/** `n` distinct requests from bookinfo pods to ratings (ids, paths and ports differ). */
export function policyRequests(n: number): object[] {
  const out: object[] = [];
  for (let i = 0; i < n; i++) {
    const src = i % SOURCES.length;
    const id = `bench-${i}`;
    out.push({
      attributes: {
        source: {
          address: { socket_address: { address: `10.1.0.${src + 1}`, port_value: 40000 + i } },
          principal: `spiffe://cluster.local/ns/default/sa/bookinfo-${SOURCES[src]!.split('-')[0]}`,
        },
        destination: {
          address: { socket_address: { address: '10.1.0.9', port_value: 9080 } },
          principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings',
        },
        request: {
          time: { seconds: 1_800_000_000, nanos: 0 },
          http: {
            id,
            method: 'GET',
            headers: {
              ':authority': 'ratings:9080',
              ':path': `/ratings/${i % 7}`,
              ':method': 'GET',
              'x-request-id': id,
              'user-agent': 'Envoy/1.30',
              'x-user': i % 10 === 0 ? 'john' : 'jane',
            },
            path: `/ratings/${i % 7}`,
            host: 'ratings:9080',
            scheme: 'http',
            protocol: 'HTTP/1.1',
          },
        },
        context_extensions: {
          'context.reporter.kind': 'inbound',
          'context.reporter.uid': 'kubernetes://ratings-v1-0.default',
          'destination.ip': '10.1.0.9',
          'destination.namespace': 'default',
          'destination.port': '9080',
          'destination.service.host': 'ratings.default.svc.cluster.local',
          'destination.service.name': 'ratings',
          'destination.service.namespace': 'default',
          'destination.service.uid': 'istio://default/services/ratings',
          'destination.uid': 'kubernetes://ratings-v1-0.default',
        },
      },
    });
  }
  return out;
}

export interface LoadResult {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  denied: number;
}

function clients(port: number, channels: number): any[] {
  const Client = serviceClient('envoy.service.auth.v3.Authorization');
  return Array.from(
    { length: channels },
    (_, i) =>
      new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
        'grpc.channel_id': i,
        'grpc.use_local_subchannel_pool': 1,
      }),
  );
}

/**
 * Closed loop (`ratePerSec` undefined: `inflight` requests always outstanding, the maximum rate) or
 * paced (requests started at `ratePerSec`, latency includes queueing) for `durationMs`.
 */
export async function runLoad(
  port: number,
  requests: object[],
  opts: { durationMs: number; inflight?: number; ratePerSec?: number; channels?: number },
): Promise<LoadResult> {
  const cs = clients(port, opts.channels ?? 4);
  const lat: number[] = [];
  let errors = 0;
  let denied = 0;
  let i = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const c = cs[i % cs.length];
      const req = requests[i++ % requests.length];
      const t0 = nowMs();
      c.Check(req, (e: Error | null, r: any) => {
        lat.push(nowMs() - t0);
        if (e) errors++;
        else if (r?.denied_response) denied++;
        resolve();
      });
    });
  const start = nowMs();
  const end = start + opts.durationMs;
  if (opts.ratePerSec === undefined) {
    const inflight = opts.inflight ?? 64;
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        while (nowMs() < end) await one();
      }),
    );
  } else {
    const pending: Promise<void>[] = [];
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = nowMs();
        const due = Math.floor(((Math.min(now, end) - start) / 1000) * opts.ratePerSec!);
        while (sent < due) {
          pending.push(one());
          sent++;
        }
        if (now >= end) resolve();
        else setTimeout(tick, 2);
      };
      tick();
    });
    await Promise.all(pending);
  }
  const elapsed = nowMs() - start;
  for (const c of cs) c.close();
  return {
    rate: (lat.length / elapsed) * 1000,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
    errors,
    denied,
  };
}
