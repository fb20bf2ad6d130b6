import type { Logger } from '@keel/runtime';
import { type Result, silentLogger } from '@keel/runtime';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { type BusKv, openKv } from './kv.js';
import type { SubjectEvents } from './subjects.js';

export type BusStatus = 'connected' | 'reconnecting' | 'closed';

/** The payload type for a subject: typed for Keel's subjects, unknown for others. */
export type EventOf<S extends string> = S extends keyof SubjectEvents ? SubjectEvents[S] : unknown;

export interface BusOptions {
  /** Default $KEEL_NATS_URL or nats://127.0.0.1:4222. */
  url?: string;
  /** Client name shown by the server (the service and replica). */
  name: string;
  logger?: Logger;
  /** First delay between reconnect attempts; doubles per attempt (default 250 ms). */
  reconnectWaitMs?: number;
  /** Longest delay between reconnect attempts, before jitter (default 2000 ms). */
  reconnectMaxMs?: number;
  /**
   * Publishes held while disconnected and sent after reconnecting (the NATS client itself discards
   * them); beyond this many, new ones are dropped and counted (default 10000).
   */
  maxBuffered?: number;
}

export interface BusStats {
  published: number;
  /** Publishes dropped while disconnected (buffer full) or after close. */
  dropped: number;
  /** Messages that were not valid JSON, or whose handler threw. */
  badMessages: number;
  /** Publishes held now, waiting for the reconnect. */
  held: number;
}

export interface SubscribeOptions {
  /** Queue group: one member of the group gets each message. */
  queue?: string;
}

export interface Bus {
  /** Fire-and-forget JSON publish; never throws. Held while reconnecting, dropped (counted) past the limit. */
  publish<S extends string>(subject: S, event: EventOf<S>): void;
  /** Calls `handler` with each decoded message; returns the unsubscriber. */
  subscribe<T = never, S extends string = string>(
    subject: S,
    handler: (event: [T] extends [never] ? EventOf<S> : T, subject: string) => void | Promise<void>,
    options?: SubscribeOptions,
  ): () => void;
  /** One reply from one responder; no responder or timeout is an error value. */
  request<T>(subject: string, data: unknown, timeoutMs: number): Promise<Result<T, string>>;
  /** Every reply that arrives before `timeoutMs` (all pilot replicas, for example). */
  requestMany<T>(subject: string, data: unknown, timeoutMs: number): Promise<T[]>;
  /** Answers requests on `subject` with the handler's result; returns the unsubscriber. */
  reply<Req, Res>(
    subject: string,
    handler: (request: Req) => Res | Promise<Res>,
    options?: SubscribeOptions,
  ): () => void;
  /** A JetStream KV bucket (created if missing) with JSON values. */
  kv(bucket: string, options?: { history?: number }): Promise<BusKv>;
  status(): BusStatus;
  /** Calls `listener` on each status change; returns the remover. */
  onStatus(listener: (status: BusStatus) => void): () => void;
  stats(): BusStats;
  /** Flushes pending publishes and closes; later publishes are dropped. */
  close(): Promise<void>;
  /** The underlying connection, for what this wrapper does not cover. */
  connection: NatsConnection;
}

const encode = (value: unknown): string => JSON.stringify(value);

/** Connects (retrying until the first connection succeeds), then reconnects forever. */
export async function connectBus(options: BusOptions): Promise<Bus> {
  const logger = options.logger ?? silentLogger;
  const url = options.url ?? process.env.KEEL_NATS_URL ?? 'nats://127.0.0.1:4222';
  let attempts = 0;
  const nc = await connect({
    servers: url,
    name: options.name,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    // Jittered exponential backoff capped at a few seconds: a restarted nats-server is found again
    // promptly, and many clients do not reconnect in lockstep.
    reconnectDelayHandler: () => {
      const base = options.reconnectWaitMs ?? 250;
      const capped = Math.min(base * 2 ** Math.min(attempts, 30), options.reconnectMaxMs ?? 2000);
      attempts += 1;
      return Math.round(capped * (0.5 + Math.random() / 2));
    },
  });
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'reconnect') attempts = 0;
  })().catch(() => {});
  logger.info({ url, name: options.name }, 'connected to NATS');
  return wrapConnection(nc, options, logger);
}

function wrapConnection(nc: NatsConnection, options: BusOptions, logger: Logger): Bus {
  const maxBuffered = options.maxBuffered ?? 10_000;
  const stats = { published: 0, dropped: 0, badMessages: 0 };
  const listeners = new Set<(status: BusStatus) => void>();
  let status: BusStatus = 'connected';
  let heldWhileDown: Array<[string, string]> = [];

  const setStatus = (next: BusStatus) => {
    if (next === status) return;
    status = next;
    if (next === 'connected') {
      const held = heldWhileDown;
      heldWhileDown = [];
      for (const [subject, payload] of held) send(subject, payload);
    } else if (next === 'closed' && heldWhileDown.length > 0) {
      for (const [subject] of heldWhileDown) drop(subject, 'closed while disconnected');
      heldWhileDown = [];
    }
    logger.info({ status: next }, 'NATS connection status');
    for (const l of listeners) l(next);
  };
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting') setStatus('reconnecting');
      else if (s.type === 'reconnect') setStatus('connected');
      else if (s.type === 'close') setStatus('closed');
      else if (s.type === 'error') logger.warn({ err: s.error }, 'NATS error');
    }
  })();
  void nc.closed().then(() => setStatus('closed'));

  const send = (subject: string, payload: string) => {
    try {
      nc.publish(subject, payload);
      stats.published++;
    } catch (e) {
      drop(subject, String(e));
    }
  };
  const drop = (subject: string, why: string) => {
    stats.dropped++;
    if (stats.dropped === 1 || stats.dropped % 1000 === 0) {
      logger.warn({ subject, dropped: stats.dropped, why }, 'NATS publish dropped');
    }
  };

  const decode = (msg: Msg): { ok: true; value: unknown } | { ok: false } => {
    try {
      return { ok: true, value: msg.data.length === 0 ? undefined : msg.json() };
    } catch (e) {
      stats.badMessages++;
      logger.warn({ subject: msg.subject, err: e }, 'dropping a message that is not JSON');
      return { ok: false };
    }
  };

  const subscribeRaw = (subject: string, queue: string | undefined, onMsg: (msg: Msg) => Promise<void>) => {
    const sub = nc.subscribe(subject, {
      queue,
      callback: (error, msg) => {
        if (error) {
          logger.warn({ subject, err: error }, 'subscription error');
          return;
        }
        onMsg(msg).catch((e) => {
          stats.badMessages++;
          logger.error({ subject: msg.subject, err: e }, 'message handler failed');
        });
      },
    });
    return () => sub.unsubscribe();
  };

  return {
    connection: nc,
    publish(subject, event) {
      if (status === 'closed') return drop(subject, 'closed');
      if (status === 'reconnecting') {
        if (heldWhileDown.length >= maxBuffered) return drop(subject, 'buffer full');
        heldWhileDown.push([subject, encode(event)]);
        return;
      }
      send(subject, encode(event));
    },
    subscribe(subject, handler, subOptions) {
      return subscribeRaw(subject, subOptions?.queue, async (msg) => {
        const decoded = decode(msg);
        if (decoded.ok) await handler(decoded.value as never, msg.subject);
      });
    },
    async request<T>(subject: string, data: unknown, timeoutMs: number): Promise<Result<T, string>> {
      try {
        const msg = await nc.request(subject, encode(data), { timeout: timeoutMs });
        const decoded = decode(msg);
        return decoded.ok
          ? { ok: true, value: decoded.value as T }
          : { ok: false, errors: 'reply is not JSON' };
      } catch (e) {
        return { ok: false, errors: `request ${subject}: ${(e as Error).message}` };
      }
    },
    async requestMany<T>(subject: string, data: unknown, timeoutMs: number): Promise<T[]> {
      const replies: T[] = [];
      try {
        const it = await nc.requestMany(subject, encode(data), { strategy: 'timer', maxWait: timeoutMs });
        for await (const msg of it) {
          const decoded = decode(msg);
          if (decoded.ok) replies.push(decoded.value as T);
        }
      } catch (e) {
        logger.debug({ subject, err: e }, 'requestMany ended with an error');
      }
      return replies;
    },
    reply(subject, handler, subOptions) {
      return subscribeRaw(subject, subOptions?.queue, async (msg) => {
        const decoded = decode(msg);
        if (!decoded.ok) return;
        const answer = await handler(decoded.value as never);
        msg.respond(encode(answer));
      });
    },
    kv: (bucket, kvOptions) => openKv(nc, bucket, kvOptions),
    status: () => status,
    onStatus(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stats: () => ({ ...stats, held: heldWhileDown.length }),
    async close() {
      if (nc.isClosed()) return;
      await nc.drain().catch(() => nc.close());
      setStatus('closed');
    },
  };
}
