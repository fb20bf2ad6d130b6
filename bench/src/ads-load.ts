import { jsonToStruct, lookupType, TypeUrl } from '@keel/proto';
import { type RawCall, RawChannel } from './grpc-raw.js';
import { nowMs } from './stats.js';
import {
  type DecodedResponse,
  edsNameOfCluster,
  ResponseReader,
  rdsNamesOf,
  unwrapAny,
} from './xds-names.js';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const TYPES = [
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
] as const;
export type XdsType = (typeof TYPES)[number];
/** Types whose resources name what to ask for next (EDS and RDS names); other types' bodies are only walked. */
const NAMED_TYPES: ReadonlySet<string> = new Set([TypeUrl.Cluster, TypeUrl.Listener]);
export const XDS_TYPES: readonly XdsType[] = TYPES;

export interface ProxyNode {
  id: string;
  cluster: string;
  metadata: Record<string, unknown>;
}

interface TypeState {
  requested: boolean;
  names: string[];
  version: string;
  nonce: string;
  responses: number;
  /** Resources in the last response. */
  resources: number;
}

const sameNames = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((n, i) => n === b[i]);

/**
 * Names derived from a response. One process simulates every proxy, so derivation is shared where the bytes
 * are: by response (type, version, count, bytes), then, for Listeners, by resource (the Any's bytes). A
 * Cluster is walked in place (`edsNameOfCluster`): cheaper than making its bytes a cache key. Names keep the
 * order of the resources (the server's order is stable); equal name lists are one array, so their request
 * encoding is shared too. Every byte is still received and the response decoded; only repeated derivations
 * are skipped.
 */
const derivedNames = new Map<string, string[]>();
const byResource = new Map<string, readonly string[]>();
const nameLists = new Map<string, string[]>();
function namesFrom(msg: DecodedResponse): string[] {
  const resources = msg.resources;
  const key = `${msg.type_url}|${msg.version_info}|${msg.count}|${msg.resourceBytes}`;
  let names = derivedNames.get(key);
  if (!names) {
    const all = new Set<string>();
    for (const r of resources) {
      if (msg.type_url === TypeUrl.Cluster) {
        const name = edsNameOfCluster(r);
        if (name !== undefined) all.add(name);
        continue;
      }
      const content = Buffer.from(r.buffer, r.byteOffset, r.byteLength).toString('latin1');
      let own = byResource.get(content);
      if (!own) {
        own = rdsNamesOf([unwrapAny(r)]);
        byResource.set(content, own);
      }
      for (const n of own) all.add(n);
    }
    const list = [...all];
    const listKey = list.join('\n');
    names = nameLists.get(listKey) ?? list;
    nameLists.set(listKey, names);
    if (derivedNames.size > 10_000) derivedNames.clear();
    if (byResource.size > 200_000) byResource.clear();
    if (nameLists.size > 10_000) nameLists.clear();
    derivedNames.set(key, names);
  }
  return names;
}

const DiscoveryRequest = () => lookupType('envoy.service.discovery.v3.DiscoveryRequest');
/** resource_names (field 3) encoded once per name list; a request is its other fields plus these bytes. */
const encodedNames = new WeakMap<readonly string[], Uint8Array>();
function namesBytes(names: readonly string[]): Uint8Array {
  let bytes = encodedNames.get(names);
  if (!bytes) {
    const Req = DiscoveryRequest();
    bytes = Req.encode(Req.fromObject({ resource_names: names })).finish();
    encodedNames.set(names, bytes);
  }
  return bytes;
}

/** What the load tells its observer about every response. */
export interface LoadObserver {
  onResponse(client: AdsClient, type: string, at: number): void;
  onFull(client: AdsClient, at: number): void;
  /** A stream ended or was opened again. */
  onStream?(client: AdsClient): void;
}

/**
 * One simulated SotW proxy: CDS, then EDS for the EDS clusters it gets, LDS, then RDS for the
 * route names its listeners use; ACKs every response with the names it holds.
 */
export class AdsClient {
  readonly state = new Map<string, TypeState>();
  startedAt = 0;
  /** When CDS, EDS, LDS and RDS had all been received (and ACKed); 0 until then. */
  fullAt = 0;
  error: string | undefined;
  private call: RawCall | undefined;
  private nodeSent = false;
  /** EDS and RDS names the last CDS and LDS responses call for (an empty list is never requested: it means wildcard). */
  private wantEds: string[] = [];
  private wantRds: string[] = [];

  constructor(
    readonly index: number,
    readonly node: ProxyNode,
    private readonly channel: RawChannel,
    private readonly observer: LoadObserver,
  ) {
    for (const t of TYPES)
      this.state.set(t, { requested: false, names: [], version: '', nonce: '', responses: 0, resources: 0 });
  }

  /** Calls the server ended (trailers, reset or connection loss), and streams opened again after one. */
  serverEnded = 0;
  reconnects = 0;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  /** Envoy's ADS retry: jittered exponential backoff from 500 ms up to 30 s, reset by a response. */
  private backoffMs = BACKOFF_BASE_MS;

  start(): void {
    this.startedAt = nowMs();
    this.open();
  }

  private open(): void {
    this.nodeSent = false;
    for (const st of this.state.values()) {
      st.requested = false;
      st.nonce = '';
    }
    this.call = this.channel.call(ADS_PATH, {
      begin: (length) => {
        this.bytes += length;
        return this.reader.start(this.onResponse);
      },
      onEnd: (error) => this.onEnd(error),
    });
    // A new stream asks again for what it held (versions kept, as Envoy does).
    this.request(TypeUrl.Cluster, []);
    if (this.type(TypeUrl.ClusterLoadAssignment).responses > 0 && this.wantEds.length > 0)
      this.request(TypeUrl.ClusterLoadAssignment, this.wantEds);
    if (this.type(TypeUrl.Listener).responses > 0) this.request(TypeUrl.Listener, []);
    if (this.type(TypeUrl.RouteConfiguration).responses > 0 && this.wantRds.length > 0)
      this.request(TypeUrl.RouteConfiguration, this.wantRds);
  }

  private onEnd(error: string | undefined): void {
    this.call = undefined;
    if (this.stopped || error === undefined) return;
    this.serverEnded += 1;
    this.error = error;
    this.observer.onStream?.(this);
    const delay = this.backoffMs * (0.5 + Math.random() / 2);
    this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.stopped) return;
      this.reconnects += 1;
      this.open();
      this.observer.onStream?.(this);
    }, delay);
  }

  /** True while the client has no open stream (waiting to reconnect). */
  get lost(): boolean {
    return !this.stopped && this.call === undefined;
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.call?.cancel();
    this.call = undefined;
  }

  type(t: string): TypeState {
    return this.state.get(t) as TypeState;
  }

  private request(type: string, names: string[]): void {
    const st = this.type(type);
    st.requested = true;
    st.names = names;
    const req: Record<string, unknown> = {
      version_info: st.version,
      type_url: type,
      response_nonce: st.nonce,
    };
    if (!this.nodeSent) {
      req.node = { id: this.node.id, cluster: this.node.cluster, metadata: jsonToStruct(this.node.metadata) };
      this.nodeSent = true;
    }
    const Req = DiscoveryRequest();
    this.call?.write(Buffer.concat([Req.encode(Req.fromObject(req)).finish(), namesBytes(names)]));
  }

  /** Bytes of every response received. */
  bytes = 0;
  /** Reads each response as it streams in (one at a time per call). */
  private readonly reader = new ResponseReader((typeUrl) => NAMED_TYPES.has(typeUrl));

  private readonly onResponse = (msg: DecodedResponse): void => {
    const at = nowMs();
    this.backoffMs = BACKOFF_BASE_MS;
    const type = msg.type_url;
    const st = this.state.get(type);
    if (!st) return;
    st.version = msg.version_info;
    st.nonce = msg.nonce;
    st.responses += 1;
    st.resources = msg.count;
    if (type === TypeUrl.Cluster) {
      const eds = namesFrom(msg);
      this.request(TypeUrl.Cluster, []);
      this.wantEds = eds;
      const edsState = this.type(TypeUrl.ClusterLoadAssignment);
      if (eds.length > 0 && (!edsState.requested || !sameNames(eds, edsState.names)))
        this.request(TypeUrl.ClusterLoadAssignment, eds);
      if (!this.type(TypeUrl.Listener).requested) this.request(TypeUrl.Listener, []);
    } else if (type === TypeUrl.Listener) {
      const rds = namesFrom(msg);
      this.request(TypeUrl.Listener, []);
      this.wantRds = rds;
      const rdsState = this.type(TypeUrl.RouteConfiguration);
      if (rds.length > 0 && (!rdsState.requested || !sameNames(rds, rdsState.names)))
        this.request(TypeUrl.RouteConfiguration, rds);
    } else {
      this.request(type, st.names);
    }
    this.observer.onResponse(this, type, at);
    if (this.fullAt === 0 && this.holdsFullConfig()) {
      this.fullAt = at;
      this.observer.onFull(this, at);
    }
  };

  /** CDS and LDS received; EDS and RDS received unless nothing calls for them. */
  holdsFullConfig(): boolean {
    const got = (t: string) => this.type(t).responses > 0;
    return (
      got(TypeUrl.Cluster) &&
      got(TypeUrl.Listener) &&
      (got(TypeUrl.ClusterLoadAssignment) || this.wantEds.length === 0) &&
      (got(TypeUrl.RouteConfiguration) || this.wantRds.length === 0)
    );
  }
}

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export interface AdsLoadOptions {
  /** `host:port` of the ADS server. */
  address: string;
  nodes: readonly ProxyNode[];
  /** Client instances (each its own HTTP/2 connection) the streams are spread over. Default 8. */
  channels?: number;
}

/** Stream health over the whole run. */
export interface StreamStats {
  /** Calls the server ended (trailers, RST_STREAM, connection loss). */
  serverEnded: number;
  /** Streams opened again after such an end (with backoff). */
  reconnects: number;
  /** HTTP/2 connections opened again. */
  sessionReconnects: number;
  /** Clients without an open stream right now. */
  lost: number;
}

/** Counters since the last `mark()`. */
export interface Window {
  markedAt: number;
  byType: Record<string, number>;
  /** Per client: arrival time of the last response since the mark (0 when none). */
  lastAt: Float64Array;
  /** Per client and type: responses since the mark. */
  counts: Map<string, Uint32Array>;
  /** Per type: clients that got at least one response of it since the mark. */
  clientsWith: Record<string, number>;
  clientsWithAny: number;
  lastAny: number;
}

/** Many SotW ADS clients in one process, spread over several HTTP/2 connections. */
export class AdsLoad implements LoadObserver {
  readonly clients: AdsClient[];
  private readonly channels: RawChannel[];
  private full = 0;
  private win: Window;
  private waiters = new Set<() => void>();

  constructor(private readonly options: AdsLoadOptions) {
    const n = Math.max(1, Math.min(options.channels ?? 8, options.nodes.length));
    this.channels = Array.from({ length: n }, () => new RawChannel(options.address));
    this.clients = options.nodes.map(
      (node, i) => new AdsClient(i, node, this.channels[i % n] as RawChannel, this),
    );
    this.win = this.freshWindow();
  }

  /** Opens every stream at once (a connect storm). */
  startAll(): void {
    for (const c of this.clients) c.start();
  }

  close(): void {
    for (const c of this.clients) c.close();
    for (const ch of this.channels) ch.close();
  }

  fullCount(): number {
    return this.full;
  }

  /** Closes and forgets every client that never held full config; later rows measure the rest. */
  dropIncomplete(): number {
    const gone = this.clients.filter((c) => c.fullAt === 0);
    for (const c of gone) {
      c.close();
      this.clients.splice(this.clients.indexOf(c), 1);
    }
    return gone.length;
  }

  streamStats(): StreamStats {
    return {
      serverEnded: this.clients.reduce((a, c) => a + c.serverEnded, 0),
      reconnects: this.clients.reduce((a, c) => a + c.reconnects, 0),
      sessionReconnects: this.channels.reduce((a, ch) => a + ch.reconnects, 0),
      lost: this.clients.filter((c) => c.lost).length,
    };
  }

  errors(): string[] {
    return this.clients.flatMap((c) => (c.error ? [`${c.node.id}: ${c.error}`] : []));
  }

  /** Starts a new counting window (before a trigger). */
  mark(): Window {
    this.win = this.freshWindow();
    return this.win;
  }

  window(): Window {
    return this.win;
  }

  onResponse(client: AdsClient, type: string, at: number): void {
    const w = this.win;
    w.byType[type] = (w.byType[type] ?? 0) + 1;
    if (w.lastAt[client.index] === 0) w.clientsWithAny += 1;
    w.lastAt[client.index] = at;
    w.lastAny = at;
    const c = w.counts.get(type);
    if (c) {
      if (c[client.index] === 0) w.clientsWith[type] = (w.clientsWith[type] ?? 0) + 1;
      c[client.index] = (c[client.index] ?? 0) + 1;
    }
    this.wake();
  }

  onStream(_client: AdsClient): void {
    this.wake();
  }

  onFull(_client: AdsClient, _at: number): void {
    this.full += 1;
    this.wake();
  }

  /** Resolves once `cond()` holds (checked after every response), rejects after `timeoutMs`. */
  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${what}: not reached within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Resolves once no response has arrived for `quietMs` (or `maxMs` passed); polls, bounded. */
  async quiet(quietMs: number, maxMs: number): Promise<void> {
    const start = nowMs();
    for (;;) {
      const since = nowMs() - Math.max(this.win.lastAny, this.win.markedAt);
      if (since >= quietMs || nowMs() - start >= maxMs) return;
      await new Promise((r) => setTimeout(r, Math.max(10, quietMs - since)));
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private freshWindow(): Window {
    const n = this.options.nodes.length;
    return {
      markedAt: nowMs(),
      byType: {},
      lastAt: new Float64Array(n),
      counts: new Map(TYPES.map((t) => [t, new Uint32Array(n)])),
      clientsWith: {},
      clientsWithAny: 0,
      lastAny: 0,
    };
  }
}
