import protobuf from 'protobufjs';
import type { MessageSink } from './grpc-raw.js';

// Partial views of Envoy messages: only the fields that carry names, the rest is skipped on decode.
// Field numbers from envoy/config/{cluster,listener}/v3 and http_connection_manager/v3.
const lite = protobuf.Root.fromJSON({
  nested: {
    AnyLite: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
    FilterLite: { fields: { name: { type: 'string', id: 1 }, typed_config: { type: 'AnyLite', id: 4 } } },
    FilterChainLite: { fields: { filters: { rule: 'repeated', type: 'FilterLite', id: 3 } } },
    ApiListenerLite: { fields: { api_listener: { type: 'AnyLite', id: 1 } } },
    ListenerLite: {
      fields: {
        name: { type: 'string', id: 1 },
        filter_chains: { rule: 'repeated', type: 'FilterChainLite', id: 3 },
        api_listener: { type: 'ApiListenerLite', id: 19 },
        default_filter_chain: { type: 'FilterChainLite', id: 25 },
      },
    },
    RdsLite: { fields: { route_config_name: { type: 'string', id: 2 } } },
    HcmLite: { fields: { rds: { type: 'RdsLite', id: 3 } } },
  },
});

const AnyLiteType = lite.lookupType('AnyLite');
const ListenerLite = lite.lookupType('ListenerLite');
const HcmLite = lite.lookupType('HcmLite');
const EDS = 3;
const HCM_URL =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

type AnyLite = { type_url?: string; value?: Uint8Array };

/** A DiscoveryResponse with each resource left as its encoded google.protobuf.Any (never unpacked). */
export interface DecodedResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  /** How many resources the response holds. */
  count: number;
  /** Their total encoded size. */
  resourceBytes: number;
  /** The resources' Any bytes, only when asked for (see ResponseReader); valid only in the reader's callback. */
  resources: Uint8Array[];
}

/** The leading bytes of a resource read to learn its Any's type URL (field 1, encoded first). */
const HEAD = 256;

/**
 * Kept resources are copied into 1 MB slabs, handed back once their message has been handled: copied into a
 * new Buffer each, the 2 million Clusters of a 4,000-service storm were as many small allocations, and the
 * churn cost the client 4 s of a 24 s storm (allocation, then full collections), with Pilot idle.
 */
const SLAB = 1024 * 1024;
const MAX_FREE_SLABS = 256;
const freeSlabs: Buffer[] = [];
const TYPE_URL_TAG = 0x0a;

/**
 * Reads envoy.service.discovery.v3.DiscoveryResponse (fields 1, 2, 4, 5) as its bytes arrive, holding none
 * of them: every resource is walked and counted, and its bytes are collected only when `keep(type URL)`,
 * the type URL read from the first bytes of the resource's Any. The reader is reused for each message.
 */
export class ResponseReader implements MessageSink {
  private out!: DecodedResponse;
  /** Varint being read: value so far, its next shift, and what it is. */
  private varint = 0;
  private shift = 0;
  private varintIs: 'tag' | 'length' | 'value' = 'tag';
  private field = 0;
  /** Bytes left in the current field value (or to skip); -1 between fields. */
  private left = -1;
  private skipping = false;
  /** A string field or kept resource being copied (its full length allocated). */
  private copy: Buffer | undefined;
  /** This message's slabs (kept resources are views of them) and the free offset in the last. */
  private slabs: Buffer[] = [];
  private slabAt = SLAB;
  /** Short string fields are copied here. */
  private readonly text = Buffer.allocUnsafe(1024);
  private copied = 0;
  /** A resource's first bytes, until its type URL is known. */
  private readonly head = Buffer.allocUnsafe(HEAD);
  private headHave = 0;
  private headWant = 0;
  /** The message has more bytes than its fields account for, or a field runs past its end. */
  private broken: string | undefined;
  private onResponse: ((r: DecodedResponse) => void) | undefined;

  constructor(private readonly keep: (typeUrl: string) => boolean) {}

  /** Starts a message; `done` gets it decoded at `end()`. */
  start(done: (r: DecodedResponse) => void): this {
    this.releaseSlabs(); // a message left unfinished (its call ended)
    this.out = { version_info: '', type_url: '', nonce: '', count: 0, resourceBytes: 0, resources: [] };
    this.varint = 0;
    this.shift = 0;
    this.varintIs = 'tag';
    this.left = -1;
    this.skipping = false;
    this.copy = undefined;
    this.headHave = 0;
    this.headWant = 0;
    this.broken = undefined;
    this.onResponse = done;
    return this;
  }

  push(bytes: Buffer): void {
    let at = 0;
    const n = bytes.length;
    while (at < n) {
      if (this.left < 0) {
        // A varint: the tag, or a length-delimited field's length.
        const b = bytes[at++]!;
        this.varint += (b & 0x7f) * 2 ** this.shift;
        this.shift += 7;
        if (b >= 0x80) continue;
        const value = this.varint;
        this.varint = 0;
        this.shift = 0;
        const was = this.varintIs;
        this.varintIs = 'tag';
        if (was === 'tag') this.tag(value);
        else if (was === 'length') this.beginValue(value);
        continue;
      }
      const take = Math.min(this.left, n - at);
      if (!this.skipping) {
        if (this.headWant > 0) {
          const h = Math.min(take, this.headWant - this.headHave);
          bytes.copy(this.head, this.headHave, at, at + h);
          this.headHave += h;
          at += h;
          this.left -= h;
          if (this.headHave === this.headWant) this.decideResource();
          if (this.left === 0) this.valueDone();
          continue;
        }
        bytes.copy(this.copy!, this.copied, at, at + take);
        this.copied += take;
      }
      at += take;
      this.left -= take;
      if (this.left === 0) this.valueDone();
    }
  }

  /** The message is complete: `done` gets it; its resources' bytes are valid only during that call. */
  end(): void {
    const done = this.onResponse;
    this.onResponse = undefined;
    if (this.left > 0 || this.shift > 0 || this.varintIs !== 'tag')
      this.broken ??= 'message ends inside a field';
    try {
      if (this.broken) throw new Error(`DiscoveryResponse: ${this.broken}`);
      done?.(this.out);
    } finally {
      this.releaseSlabs();
    }
  }

  private releaseSlabs(): void {
    for (const slab of this.slabs) if (freeSlabs.length < MAX_FREE_SLABS) freeSlabs.push(slab);
    this.slabs = [];
    this.slabAt = SLAB;
  }

  private tag(tag: number): void {
    this.field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 2) this.varintIs = 'length';
    else if (wire === 0)
      this.varintIs = 'value'; // read and dropped (field 3 `canary`, unknown varints)
    else if (wire === 1 || wire === 5) this.beginSkip(wire === 1 ? 8 : 4);
    else this.broken ??= `wire type ${wire} of field ${this.field}`;
  }

  private beginValue(length: number): void {
    if (this.field === 2) {
      this.out.count += 1;
      this.out.resourceBytes += length;
      this.left = length;
      this.skipping = false;
      this.headHave = 0;
      this.headWant = Math.min(HEAD, length);
      if (length === 0) this.valueDone();
      return;
    }
    if (this.field === 1 || this.field === 4 || this.field === 5) {
      this.copy = length <= this.text.length ? this.text.subarray(0, length) : Buffer.allocUnsafe(length);
      this.copied = 0;
      this.left = length;
      this.skipping = false;
      if (length === 0) this.valueDone();
      return;
    }
    this.beginSkip(length);
  }

  private beginSkip(length: number): void {
    this.left = length;
    this.skipping = true;
    if (length === 0) this.valueDone();
  }

  /** `length` bytes for a kept resource: in this message's current slab, or a new one. */
  private room(length: number): Buffer {
    if (length > SLAB) return Buffer.allocUnsafe(length);
    if (this.slabAt + length > SLAB) {
      this.slabs.push(freeSlabs.pop() ?? Buffer.allocUnsafeSlow(SLAB));
      this.slabAt = 0;
    }
    const slab = this.slabs[this.slabs.length - 1]!;
    this.slabAt += length;
    return slab.subarray(this.slabAt - length, this.slabAt);
  }

  /** The resource's head is in: keep its bytes (copy the head, then the rest) or skip the rest. */
  private decideResource(): void {
    const total = this.headWant + this.left;
    const typeUrl = anyTypeUrl(this.head.subarray(0, this.headHave));
    this.headWant = 0;
    if (typeUrl !== undefined && this.keep(typeUrl)) {
      this.copy = this.room(total);
      this.head.copy(this.copy, 0, 0, this.headHave);
      this.copied = this.headHave;
      this.skipping = false;
    } else {
      this.copy = undefined;
      this.skipping = true;
    }
  }

  private valueDone(): void {
    this.left = -1;
    const wasSkipping = this.skipping;
    this.skipping = false;
    if (this.field === 2) {
      if (this.headWant > 0) this.decideResource();
      if (this.copy) this.out.resources.push(this.copy);
    } else if (!wasSkipping && this.copy) {
      const text = this.copy.toString('utf8');
      if (this.field === 1) this.out.version_info = text;
      else if (this.field === 4) this.out.type_url = text;
      else if (this.field === 5) this.out.nonce = text;
    }
    this.copy = undefined;
  }
}

/** The type URL of an encoded Any from its first bytes (field 1 comes first), if they hold it. */
function anyTypeUrl(head: Buffer): string | undefined {
  if (head.length < 2 || head[0] !== TYPE_URL_TAG) return undefined;
  let length = 0;
  let shift = 0;
  let at = 1;
  for (;;) {
    if (at >= head.length) return undefined;
    const b = head[at++]!;
    length += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) break;
  }
  if (at + length > head.length) return undefined;
  return head.toString('utf8', at, at + length);
}

/** Decodes one whole message (tests and one-off reads): the reader fed `bytes` in one piece. */
export function readResponse(bytes: Buffer, keep: (typeUrl: string) => boolean): DecodedResponse {
  let got: DecodedResponse | undefined;
  const reader = new ResponseReader(keep).start((r) => {
    got = { ...r, resources: r.resources.map((b) => Buffer.from(b)) };
  });
  reader.push(bytes);
  reader.end();
  return got!;
}

/** The message bytes inside an encoded Any. */
export function unwrapAny(anyBytes: Uint8Array): Uint8Array {
  return (AnyLiteType.decode(anyBytes) as unknown as AnyLite).value ?? new Uint8Array();
}

/** A protobuf field walker over one message's bytes: `next()` reads a tag, values are read or skipped. */
class FieldWalker {
  at: number;
  field = 0;
  wire = 0;
  constructor(
    private readonly b: Uint8Array,
    from = 0,
    private readonly end = b.length,
  ) {
    this.at = from;
  }

  varint(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (this.at >= this.end) throw new Error('varint past the end');
      const byte = this.b[this.at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
    }
  }

  next(): boolean {
    if (this.at >= this.end) return false;
    const tag = this.varint();
    this.field = Math.floor(tag / 8);
    this.wire = tag & 7;
    return true;
  }

  /** A length-delimited value: its [from, to) range, the walker moved past it. */
  range(): [number, number] {
    const length = this.varint();
    const from = this.at;
    this.at += length;
    if (this.at > this.end) throw new Error('field past the end');
    return [from, this.at];
  }

  skip(): void {
    if (this.wire === 0) this.varint();
    else if (this.wire === 1) this.at += 8;
    else if (this.wire === 5) this.at += 4;
    else if (this.wire === 2) this.range();
    else throw new Error(`wire type ${this.wire}`);
  }
}

const utf8 = new TextDecoder();

/**
 * The EDS service name of an encoded Any holding a Cluster, or undefined when it is not an EDS cluster:
 * `eds_cluster_config.service_name` (field 3, 2), else its name (1), when `type` (2) is EDS. Walked in
 * place, nothing decoded but that name: a storm at 4,000 services hands the load client 2 million Clusters.
 */
export function edsNameOfCluster(any: Uint8Array): string | undefined {
  const a = new FieldWalker(any);
  let value: [number, number] | undefined;
  while (a.next()) {
    if (a.field === 2 && a.wire === 2) value = a.range();
    else a.skip();
  }
  if (!value) return undefined;
  const c = new FieldWalker(any, value[0], value[1]);
  let name: [number, number] | undefined;
  let service: [number, number] | undefined;
  let type = 0;
  while (c.next()) {
    if (c.field === 1 && c.wire === 2) name = c.range();
    else if (c.field === 2 && c.wire === 0) type = c.varint();
    else if (c.field === 3 && c.wire === 2) {
      const [from, to] = c.range();
      const e = new FieldWalker(any, from, to);
      while (e.next()) {
        if (e.field === 2 && e.wire === 2) service = e.range();
        else e.skip();
      }
    } else c.skip();
  }
  if (type !== EDS) return undefined;
  const chosen = service && service[1] > service[0] ? service : name;
  return chosen ? utf8.decode(any.subarray(chosen[0], chosen[1])) : '';
}

function rdsOf(any: AnyLite | undefined | null): string | undefined {
  if (!any || any.type_url !== HCM_URL || !any.value) return undefined;
  const hcm = HcmLite.decode(any.value) as unknown as { rds?: { route_config_name?: string } };
  return hcm.rds?.route_config_name || undefined;
}

/** RDS route names used by HCMs in encoded Listener messages (filter chains, default chain, api_listener). */
export function rdsNamesOf(listeners: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const bytes of listeners) {
    const l = ListenerLite.decode(bytes) as unknown as {
      filter_chains?: Array<{ filters?: Array<{ typed_config?: AnyLite }> }>;
      default_filter_chain?: { filters?: Array<{ typed_config?: AnyLite }> };
      api_listener?: { api_listener?: AnyLite };
    };
    const chains = [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])];
    const anys = chains.flatMap((c) => (c.filters ?? []).map((f) => f.typed_config));
    anys.push(l.api_listener?.api_listener);
    for (const a of anys) {
      const name = rdsOf(a);
      if (name) out.push(name);
    }
  }
  return out;
}
