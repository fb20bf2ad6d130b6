// envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs: each message's entries become
// bags (reporter remembered from the stream's first message) and are reported as one batch.
import * as grpc from '@grpc/grpc-js';
import { lookupType } from '@keel/proto';
import type { Logger } from '@keel/runtime';
import type { Bag } from '../bag.js';
import type { MeshIndex } from '../mesh.js';
import { httpEntryBag, TcpConnections, tcpEntryBags } from './entry.js';
import { enrichReporter, type Reporter, reporterFromNode } from './reporter.js';

export const ALS_SERVICE = 'envoy.service.accesslog.v3.AccessLogService';
export const ALS_METHOD = `/${ALS_SERVICE}/StreamAccessLogs`;
const MESSAGE_TYPE = 'envoy.service.accesslog.v3.StreamAccessLogsMessage';
/** Entries one message may carry (Envoy flushes far fewer; a bigger batch is refused). */
export const MAX_ENTRIES_PER_MESSAGE = 10_000;

export interface AlsStats {
  streams: number;
  messages: number;
  httpEntries: number;
  tcpEntries: number;
  rejectedStreams: number;
}

export interface AlsHandlerOptions {
  mesh: () => MeshIndex;
  /** Reports one batch of bags (the runtime's dispatch). */
  report: (bags: Bag[]) => void;
  logger: Logger;
}

type Msg = Record<string, any>;

/** The service definition: messages pass through as bytes so decoding errors are ours to report. */
const definition: grpc.ServiceDefinition = {
  StreamAccessLogs: {
    path: ALS_METHOD,
    requestStream: true,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: () => Buffer.alloc(0),
    responseDeserialize: () => ({}),
  },
};

/** Adds StreamAccessLogs to `server`; returns the live stats. */
export function addAccessLogService(server: grpc.Server, opts: AlsHandlerOptions): AlsStats {
  const type = lookupType(MESSAGE_TYPE);
  const stats: AlsStats = { streams: 0, messages: 0, httpEntries: 0, tcpEntries: 0, rejectedStreams: 0 };
  const log = opts.logger;
  const handler = (
    call: grpc.ServerReadableStream<Buffer, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ) => {
    stats.streams++;
    let reporter: Reporter | undefined;
    let done = false;
    const conns = new TcpConnections();
    const finish = (err: grpc.ServiceError | Partial<grpc.StatusObject> | null) => {
      if (done) return;
      done = true;
      call.removeAllListeners('data');
      if (err) {
        stats.rejectedStreams++;
        log.warn(
          { peer: call.getPeer(), node: reporter?.uid, error: err.details },
          'access-log stream rejected',
        );
        callback(err as grpc.ServiceError);
      } else callback(null, {});
    };
    const reject = (details: string) => finish({ code: grpc.status.INVALID_ARGUMENT, details });
    call.on('data', (buf: Buffer) => {
      if (done) return;
      let msg: Msg;
      try {
        msg = type.decode(buf) as unknown as Msg;
      } catch (e) {
        return reject(
          `malformed StreamAccessLogsMessage (message ${stats.messages + 1} of this stream): ${(e as Error).message}`,
        );
      }
      stats.messages++;
      try {
        handleMessage(msg);
      } catch (e) {
        // Nothing a client sends may crash the process: an entry we cannot map ends its stream only.
        reject(`StreamAccessLogsMessage ${stats.messages} could not be mapped: ${(e as Error).message}`);
      }
    });
    const handleMessage = (msg: Msg): void => {
      if (!reporter) {
        const node = msg.identifier?.node as Msg | undefined;
        if (!node?.id) {
          reject('the first StreamAccessLogsMessage must carry identifier.node with an id');
          return;
        }
        reporter = reporterFromNode(node, String(msg.identifier.log_name ?? ''));
      }
      const http = (msg.http_logs?.log_entry ?? []) as Msg[];
      const tcp = (msg.tcp_logs?.log_entry ?? []) as Msg[];
      if (http.length + tcp.length > MAX_ENTRIES_PER_MESSAGE) {
        reject(`${http.length + tcp.length} entries in one message (at most ${MAX_ENTRIES_PER_MESSAGE})`);
        return;
      }
      const mesh = opts.mesh();
      const r = enrichReporter(reporter, mesh);
      const now = new Date();
      const bags: Bag[] = [];
      for (const e of http) bags.push(httpEntryBag(e, r, mesh, now));
      for (const e of tcp) for (const b of tcpEntryBags(e, r, mesh, conns, now)) bags.push(b);
      stats.httpEntries += http.length;
      stats.tcpEntries += tcp.length;
      try {
        opts.report(bags);
      } catch (e) {
        log.error({ err: e }, 'report dispatch failed');
      }
    };
    call.on('end', () => finish(null));
    call.on('error', () => {
      done = true;
    });
    call.on('cancelled', () => {
      done = true;
    });
  };
  server.addService(definition, {
    StreamAccessLogs: handler as grpc.handleClientStreamingCall<Buffer, unknown>,
  });
  return stats;
}
