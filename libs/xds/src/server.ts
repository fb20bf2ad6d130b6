import * as grpc from '@grpc/grpc-js';
import { createLogger, type Logger } from '@keel/runtime';
import { NameSets } from './answer.js';
import type { SnapshotCache } from './cache.js';
import { onDeltaRequest } from './delta.js';
import { ReplyFrames } from './frames.js';
import {
  type ServerContext,
  type StreamInfo,
  StreamSession,
  type XdsCallbacks,
  type XdsStats,
} from './session.js';
import { onSotwRequest } from './sotw.js';
import {
  type DeltaRequest,
  type NodeInfo,
  type SotwRequest,
  type SotwWire,
  writeFramedAsIs,
  XDS_SERVICES,
  type XdsService,
} from './wire.js';

export interface XdsServerOptions {
  cache: SnapshotCache;
  logger?: Logger;
  /** A write that does not drain within this closes its stream (DEADLINE_EXCEEDED). Default 5000. */
  sendTimeoutMs?: number;
  callbacks?: XdsCallbacks;
  /** Cache key of a node. Default: node.id. */
  nodeKey?: (node: NodeInfo) => string;
  /**
   * Admission: called with the node of a stream's first request (and of each fetch); a message refuses
   * the call with INVALID_ARGUMENT and that message, before any session or watch exists.
   */
  admit?: (node: NodeInfo) => string | undefined;
  /**
   * How long framed SotW replies are held (see frames.ts): strongly up to `retainBytes` (default
   * RETAIN_BYTES) beyond those used within `recentMs` (default RECENT_MS). Tests set them low to see frames go.
   */
  frames?: { retainBytes?: number; recentMs?: number };
}

export interface XdsServer {
  /**
   * Registers ADS and CDS/EDS/LDS/RDS (stream, delta, fetch) on a grpc-js server.
   * Server options that matter at mesh scale: 'grpc.max_receive_message_length' (default 4 MB; SotW
   * requests name every EDS/RDS resource). grpc-js 1.14 servers have no HTTP/2 window option: how much of a
   * response is in flight is the client's window ('grpc-node.flow_control_window' on grpc-js channels,
   * initial_stream/connection_window_size on Envoy).
   */
  addTo(server: grpc.Server): void;
  /** Open streams and their per-type state. */
  streams(): StreamInfo[];
  stats(): XdsStats;
  /** Bytes of framed SotW replies this server holds strongly (bounded; the rest are held weakly). */
  framedBytesRetained(): number;
  /** SotW replies this server has encoded and framed: once per reply, however many streams send it. */
  framesEncoded(): number;
  /** Large frames written into a reused buffer (see FramePool), not fresh memory. */
  framesPooled(): number;
  /** Distinct requested name lists held: streams asking the same names share one. */
  nameSetsHeld(): number;
  /**
   * Resolves once every response written so far on the open streams of node key `key` has flushed (or its
   * stream closed); at once when there is nothing in flight. What a push throttle waits on.
   */
  drained(key: string): Promise<void>;
  /**
   * A push is about to replace what the streams were sent: shared frames held for recency are let go, and
   * their buffers reused once flushed (ReplyFrames.supersede).
   */
  supersede(): void;
  /** Closes every open stream (UNAVAILABLE) and cancels its watches. */
  close(): void;
}

type Duplex = grpc.ServerDuplexStream<any, any>;
type Kind = 'sotw' | 'delta';

/** A generic xDS v3 server: streams ask `cache` to watch; it knows nothing of what the resources mean. */
export function createXdsServer(options: XdsServerOptions): XdsServer {
  const ctx: ServerContext = {
    cache: options.cache,
    frames: new ReplyFrames(options.frames?.retainBytes, options.frames?.recentMs),
    names: new NameSets(),
    logger: options.logger ?? createLogger('xds'),
    callbacks: options.callbacks ?? {},
    sendTimeoutMs: options.sendTimeoutMs ?? 5000,
    stats: { streamsOpened: 0, responses: 0, acks: 0, nacks: 0, staleNonces: 0, writeTimeouts: 0 },
  };
  const nodeKey = options.nodeKey ?? ((n: NodeInfo) => n.id);
  const open = new Map<string, StreamSession<any>>();
  /** Open streams by node key. */
  const byNode = new Map<string, Set<StreamSession<any>>>();
  let counter = 0;

  const onClosed = (s: StreamSession<any>) => {
    open.delete(s.id);
    const same = byNode.get(s.nodeKey);
    same?.delete(s);
    if (same?.size === 0) byNode.delete(s.nodeKey);
    ctx.callbacks.onStreamClose?.(s.info());
  };

  /** Serves one bidi stream: the first request must name the node; every request is handled in arrival order. */
  function serve(call: Duplex, kind: Kind, fixedType: string | undefined): void {
    let session: StreamSession<any> | undefined;
    writeFramedAsIs(call);
    const fail = (code: grpc.status, details: string) => {
      if (session) session.fail(code, details);
      else call.emit('error', { code, details });
    };
    call.on('data', (req: SotwRequest | DeltaRequest) => {
      if (session?.isClosed) return;
      try {
        if (!session) {
          if (!req.node?.id) return fail(grpc.status.INVALID_ARGUMENT, 'missing node id');
          const refused = options.admit?.(req.node);
          if (refused !== undefined) return fail(grpc.status.INVALID_ARGUMENT, refused);
          counter += 1;
          const id = `${req.node.id}-${counter}`;
          session = new StreamSession(id, kind, req.node, nodeKey(req.node), ctx, call, onClosed);
          open.set(id, session);
          let same = byNode.get(session.nodeKey);
          if (!same) {
            same = new Set();
            byNode.set(session.nodeKey, same);
          }
          same.add(session);
          ctx.stats.streamsOpened += 1;
          ctx.callbacks.onStreamOpen?.(session.info());
        }
        const typeUrl = fixedType ?? req.type_url;
        if (!typeUrl) return fail(grpc.status.INVALID_ARGUMENT, 'missing type_url');
        if (kind === 'sotw') onSotwRequest(session, { ...(req as SotwRequest), type_url: typeUrl });
        else onDeltaRequest(session, { ...(req as DeltaRequest), type_url: typeUrl });
      } catch (err) {
        ctx.logger.error({ err, stream: session?.id }, 'xds request failed');
        fail(grpc.status.INTERNAL, 'internal error handling request');
      }
    });
    call.on('end', () => {
      session?.close();
      call.end();
    });
    call.on('error', () => session?.close());
    call.on('cancelled', () => session?.close());
    call.on('close', () => session?.close());
  }

  function fetch(typeUrl: string) {
    return (call: grpc.ServerUnaryCall<SotwRequest, SotwWire>, cb: grpc.sendUnaryData<SotwWire>) => {
      const req = call.request;
      if (!req.node?.id) return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'missing node id' });
      const refused = options.admit?.(req.node);
      if (refused !== undefined) return cb({ code: grpc.status.INVALID_ARGUMENT, details: refused });
      const r = ctx.cache.fetch(nodeKey(req.node), typeUrl, req.resource_names);
      if (!r) return cb({ code: grpc.status.UNAVAILABLE, details: 'no snapshot for node' });
      const resources = r.resources.map((x) => ({ type_url: x.typeUrl, value: x.encoded }));
      cb(null, { version_info: r.version, resources, type_url: typeUrl, nonce: '' });
    };
  }

  function handlers(svc: XdsService): grpc.UntypedServiceImplementation {
    const impl: grpc.UntypedServiceImplementation = {
      [svc.stream]: (call: Duplex) => serve(call, 'sotw', svc.typeUrl),
      [svc.delta]: (call: Duplex) => serve(call, 'delta', svc.typeUrl),
    };
    if (svc.fetch && svc.typeUrl) impl[svc.fetch] = fetch(svc.typeUrl);
    return impl;
  }

  return {
    addTo(server) {
      for (const svc of XDS_SERVICES) server.addService(svc.definition, handlers(svc));
    },
    streams: () => [...open.values()].map((s) => s.info()),
    stats: () => ({ ...ctx.stats }),
    framedBytesRetained: () => ctx.frames.bytesRetained(),
    framesEncoded: () => ctx.frames.encoded(),
    framesPooled: () => ctx.frames.pool.reused,
    nameSetsHeld: () => ctx.names.size,
    supersede: () => ctx.frames.supersede(),
    drained(key) {
      const streams = byNode.get(key);
      if (!streams) return Promise.resolve();
      if (streams.size === 1) return streams.values().next().value!.whenFlushed();
      return Promise.all([...streams].map((s) => s.whenFlushed())).then(() => undefined);
    },
    close() {
      for (const s of [...open.values()]) s.fail(grpc.status.UNAVAILABLE, 'xds server closing');
    },
  };
}
