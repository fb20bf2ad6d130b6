import * as grpc from '@grpc/grpc-js';
import type { Logger } from '@keel/runtime';
import type { NameSets } from './answer.js';
import type { SnapshotCache } from './cache.js';
import type { ReplyFrames } from './frames.js';
import { type ErrorDetail, Framed, type NodeInfo } from './wire.js';

export interface NackInfo {
  nonce: string;
  /** The version the client rejected (the one sent with `nonce`). */
  version: string;
  error: string;
  /** ISO time the NACK arrived. */
  at: string;
}

/** Per stream and type URL: the one ACK/NACK state machine (SotW and delta alike). */
export interface TypeStatus {
  nonceSent: string;
  versionSent: string;
  versionAcked: string;
  nonceAcked: string;
  /** Subscribed names; [] is wildcard for SotW, '*' marks wildcard for delta. Shared: do not mutate. */
  names: string[];
  lastNack?: NackInfo;
}

export interface StreamInfo {
  id: string;
  kind: 'sotw' | 'delta';
  node: NodeInfo;
  /** ISO time of the first request. */
  connectedAt: string;
  types: Record<string, TypeStatus>;
}

export interface XdsCallbacks {
  onStreamOpen?(stream: StreamInfo): void;
  onStreamClose?(stream: StreamInfo): void;
  onRequest?(stream: StreamInfo, typeUrl: string, request: unknown): void;
  onAck?(stream: StreamInfo, typeUrl: string, version: string, nonce: string): void;
  onNack?(stream: StreamInfo, typeUrl: string, nack: { version: string; nonce: string; error: string }): void;
  onResponse?(stream: StreamInfo, typeUrl: string, version: string, nonce: string, names: string[]): void;
}

export interface XdsStats {
  streamsOpened: number;
  responses: number;
  acks: number;
  nacks: number;
  staleNonces: number;
  writeTimeouts: number;
}

/** What every stream shares with its server. */
export interface ServerContext {
  cache: SnapshotCache;
  /** The server's framed SotW replies: each framed once for all its streams. */
  frames: ReplyFrames;
  /** The server's requested name sets, shared by the streams asking the same names. */
  names: NameSets;
  logger: Logger;
  callbacks: XdsCallbacks;
  sendTimeoutMs: number;
  stats: XdsStats;
}

/** A request's relation to what was last sent for its type. */
export type Verdict = 'initial' | 'stale' | 'ack' | 'nack';

/** Mutable state of one type on one stream; `cancel` drops its current cache watch. */
export class TypeState implements TypeStatus {
  nonceSent = '';
  versionSent = '';
  versionAcked = '';
  nonceAcked = '';
  names: string[] = [];
  lastNack?: NackInfo;
  cancel?: () => void;

  status(): TypeStatus {
    const { nonceSent, versionSent, versionAcked, nonceAcked, lastNack } = this;
    return { nonceSent, versionSent, versionAcked, nonceAcked, names: this.names, lastNack };
  }
}

/** One xDS stream: node, per-type state, nonces and a send that closes the stream if writes stop draining. */
export class StreamSession<S extends TypeState = TypeState> {
  readonly types = new Map<string, S>();
  readonly connectedAt = new Date().toISOString();
  private nonce = 0;
  private closed = false;
  private drainTimer?: NodeJS.Timeout;
  private unflushed = 0;
  /** Resolvers waiting for every write to flush (see whenFlushed). */
  private waiters: Array<() => void> = [];

  constructor(
    readonly id: string,
    readonly kind: 'sotw' | 'delta',
    readonly node: NodeInfo,
    readonly nodeKey: string,
    readonly ctx: ServerContext,
    private readonly call: grpc.ServerDuplexStream<unknown, unknown>,
    private readonly onClosed: (s: StreamSession<S>) => void,
  ) {}

  info(): StreamInfo {
    const types: Record<string, TypeStatus> = {};
    for (const [t, s] of this.types) types[t] = s.status();
    return { id: this.id, kind: this.kind, node: this.node, connectedAt: this.connectedAt, types };
  }

  nextNonce(): string {
    this.nonce += 1;
    return String(this.nonce);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Classifies a follow-up request by nonce and records an ACK or NACK (never for stale nonces). */
  acknowledge(typeUrl: string, state: S, nonce: string, version: string, error?: ErrorDetail): Verdict {
    if (nonce === '') return 'initial';
    if (nonce !== state.nonceSent) {
      this.ctx.stats.staleNonces += 1;
      return 'stale';
    }
    const { callbacks, logger, stats } = this.ctx;
    if (error) {
      stats.nacks += 1;
      const nack = { nonce, version: state.versionSent, error: error.message, at: new Date().toISOString() };
      state.lastNack = nack;
      logger.warn({ stream: this.id, node: this.nodeKey, typeUrl, ...nack }, 'xds NACK');
      callbacks.onNack?.(this.info(), typeUrl, { version: nack.version, nonce, error: nack.error });
      return 'nack';
    }
    stats.acks += 1;
    state.versionAcked = version;
    state.nonceAcked = nonce;
    callbacks.onAck?.(this.info(), typeUrl, version, nonce);
    return 'ack';
  }

  /**
   * Records and writes a response. Each write must be flushed (its callback run) within sendTimeoutMs of
   * the oldest unflushed one, else the stream closes with DEADLINE_EXCEEDED; other streams never wait.
   */
  send(typeUrl: string, state: S, version: string, nonce: string, names: string[], message: object): void {
    if (this.closed) return;
    state.nonceSent = nonce;
    state.versionSent = version;
    this.ctx.stats.responses += 1;
    this.unflushed += 1;
    this.drainTimer ??= setTimeout(() => this.sendTimedOut(), this.ctx.sendTimeoutMs);
    // A shared frame's pooled chunk is reused only once every stream's write of it has flushed.
    const framed = message instanceof Framed ? message : undefined;
    if (framed) this.ctx.frames.writing(framed);
    this.call.write(message, () => {
      if (framed) this.ctx.frames.written(framed);
      this.flushed();
    });
    this.ctx.logger.debug({ stream: this.id, typeUrl, version, nonce, count: names.length }, 'xds response');
    this.ctx.callbacks.onResponse?.(this.info(), typeUrl, version, nonce, names);
  }

  /** Resolves once every write so far has flushed, or the stream closed (at once when none is pending). */
  whenFlushed(): Promise<void> {
    if (this.unflushed === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  private flushed(): void {
    this.unflushed -= 1;
    clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    if (this.unflushed > 0 && !this.closed) {
      this.drainTimer = setTimeout(() => this.sendTimedOut(), this.ctx.sendTimeoutMs);
    } else if (this.unflushed <= 0) this.release();
  }

  private sendTimedOut(): void {
    this.drainTimer = undefined;
    if (this.closed) return;
    this.ctx.stats.writeTimeouts += 1;
    this.ctx.logger.warn(
      { stream: this.id, node: this.nodeKey, unflushed: this.unflushed },
      'xds send timeout',
    );
    this.fail(grpc.status.DEADLINE_EXCEEDED, 'xds send timeout');
  }

  /** Ends the stream with an error status and releases everything it holds. */
  fail(code: grpc.status, details: string): void {
    this.close();
    this.call.emit('error', { code, details });
  }

  /** Cancels every watch and unregisters; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.drainTimer);
    this.release();
    for (const s of this.types.values()) s.cancel?.();
    this.onClosed(this);
  }
}
