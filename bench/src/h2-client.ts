// A minimal HTTP/2 client connection (RFC 7540) for the load generator, on a plain TCP socket.
//
// Hand-written because a measured target needs it: with node:http2 the load client, not Pilot, set the
// `scaling` push row. node:http2 hands every 64 KB socket read to JavaScript as a new ArrayBuffer, and at
// 4,000 services a route push is 2.5 GB to 500 clients: V8 counted that as external memory and ran a full
// mark-compact every ~64 MB received (40 per push), its GC threads taking 70 % of the client's core while
// Pilot sat at 10 %. Here every read lands in one reused buffer (`onread`), DATA payloads are handed over
// as views of it, and nothing per byte is allocated; 500 MB over 100 streams took 0.11 s of client CPU
// against node:http2's 0.56 s with a 100 MB live heap. Header blocks (a few per call) are decoded with
// hpack.js; requests are encoded with static-table indexes and plain literals, which any decoder accepts.
import net from 'node:net';
import hpack from 'hpack.js';

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

/** The largest frame payload we accept: the protocol default, which we never raise. */
const MAX_FRAME = 16_384;
/** A header block (HEADERS and its CONTINUATIONs) larger than this ends the connection. */
const MAX_HEADER_BLOCK = 256 * 1024;
const DEFAULT_WINDOW = 65_535;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const CANCEL = 0x8;

/**
 * Every socket's reads land here; a read is handled synchronously and completely before the next, so one
 * buffer serves every connection of the process.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** What a stream is told; `onData` views are valid only during the call. */
export interface H2StreamHandler {
  /** A header block (response headers, or trailers); `end` when it carried END_STREAM. */
  onHeaders(fields: Map<string, string>, end: boolean): void;
  onData(bytes: Buffer): void;
  /** The server's side ended with a DATA frame's END_STREAM. */
  onDataEnd(): void;
  /** The stream is gone without a normal end: RST_STREAM, GOAWAY above its id, or the connection lost. */
  onClosed(reason: string): void;
}

interface StreamState {
  handler: H2StreamHandler;
  sendWindow: number;
  /** Request bytes waiting for flow-control window, oldest first; `sentOf` bytes of the first are sent. */
  queue: Buffer[];
  sentOf: number;
  /** Received DATA not yet given back with WINDOW_UPDATE. */
  unacked: number;
  /** The server ended its side (END_STREAM); ours stays open until `finish` or `reset`. */
  remoteDone: boolean;
}

/** An HPACK string literal, never Huffman-coded, or an integer with an N-bit prefix (RFC 7541 5.1, 5.2). */
function hpackInt(out: number[], value: number, prefixBits: number, first: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(first | value);
    return;
  }
  out.push(first | max);
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}

function hpackString(out: number[], text: string): void {
  const bytes = Buffer.from(text, 'latin1');
  hpackInt(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

/** Static-table indexes (RFC 7541 appendix A) of the request header names we send. */
const STATIC_NAME: Record<string, number> = { ':authority': 1, ':path': 4, 'content-type': 31 };

/** A request header block: `:method: POST` and `:scheme: http` fully indexed, the rest literal without indexing. */
function encodeRequestHeaders(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [0x83, 0x86]; // :method POST (static 3), :scheme http (static 6)
  for (const [name, value] of fields) {
    const index = STATIC_NAME[name];
    if (index !== undefined) hpackInt(out, index, 4, 0x00);
    else {
      out.push(0x00);
      hpackString(out, name);
    }
    hpackString(out, value);
  }
  return Buffer.from(out);
}

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return h;
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer[] {
  return [frameHeader(payload.length, type, flags, stream), payload];
}

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value);
  return b;
}

export class H2Connection {
  private readonly socket: net.Socket;
  private readonly streams = new Map<number, StreamState>();
  private nextId = 1;
  /** True once the socket closed or the server sent GOAWAY: no new streams on this connection. */
  closed = false;
  private readonly decoder = hpack.decompressor.create({ table: { maxSize: 4096 } });
  private decodeError: Error | undefined;

  // Peer settings and windows for what we send.
  private connSendWindow = DEFAULT_WINDOW;
  private initialSendWindow = DEFAULT_WINDOW;
  private maxSendFrame = MAX_FRAME;
  /** Received DATA on the connection not yet given back. */
  private connUnacked = 0;

  // The frame being read.
  private readonly head = Buffer.allocUnsafe(9);
  private headHave = 0;
  /** Payload bytes left in the current frame; -1 while reading a frame header. */
  private left = -1;
  private type = 0;
  private flags = 0;
  private streamId = 0;
  private length = 0;
  /** Control-frame payload (copied: the read buffer is reused). */
  private readonly ctl = Buffer.allocUnsafe(MAX_FRAME);
  private ctlHave = 0;
  /** DATA: pad length once known (-1 before the PADDED byte), and payload bytes seen so far. */
  private pad = 0;
  private seen = 0;
  /** A header block spread over HEADERS + CONTINUATION frames. */
  private block: { stream: number; end: boolean; parts: Buffer[]; size: number } | undefined;

  private out: Buffer[] = [];
  private flushQueued = false;

  /**
   * `windowBytes`: the flow-control window we give the server for each stream and for the connection
   * (Envoy's default for both is 256 MiB).
   */
  constructor(
    address: string,
    private readonly windowBytes: number,
  ) {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
    this.socket = net.connect({
      host,
      port: Number(address.slice(colon + 1)),
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number) => {
          this.onRead(n);
          return true;
        },
      },
    });
    this.socket.setNoDelay(true);
    this.decoder.on('error', (e) => (this.decodeError = e));
    this.socket.on('error', () => {}); // 'close' follows
    this.socket.on('close', () => this.lost('UNAVAILABLE: connection closed'));
    const settings = Buffer.allocUnsafe(12);
    settings.writeUInt16BE(SETTINGS_ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(windowBytes, 8);
    this.send(PREFACE, ...frame(SETTINGS, 0, 0, settings));
    if (windowBytes > DEFAULT_WINDOW)
      this.send(...frame(WINDOW_UPDATE, 0, 0, u32(windowBytes - DEFAULT_WINDOW)));
  }

  /** Opens a stream with a request header block (no END_STREAM: the request body follows). */
  open(handler: H2StreamHandler, fields: ReadonlyArray<readonly [string, string]>): number {
    const id = this.nextId;
    this.nextId += 2;
    if (this.closed) {
      queueMicrotask(() => handler.onClosed('UNAVAILABLE: connection closed'));
      return id;
    }
    this.streams.set(id, {
      handler,
      sendWindow: this.initialSendWindow,
      queue: [],
      sentOf: 0,
      unacked: 0,
      remoteDone: false,
    });
    const block = encodeRequestHeaders(fields);
    if (block.length > this.maxSendFrame) throw new Error('request headers larger than one frame');
    this.send(...frame(HEADERS, END_HEADERS, id, block));
    return id;
  }

  /** Queues request bytes on stream `id`, sent as flow control allows. */
  write(id: number, bytes: Buffer): void {
    const s = this.live(id);
    if (!s) return;
    s.queue.push(bytes);
    this.pump();
  }

  /** Ends our side of stream `id` (an empty DATA frame with END_STREAM) and forgets it. */
  finish(id: number): void {
    if (!this.streams.delete(id) || this.closed) return;
    this.send(...frame(DATA, END_STREAM, id, Buffer.alloc(0)));
  }

  /** Resets stream `id` (RST_STREAM with `code`) and forgets it. */
  reset(id: number, code: number): void {
    if (!this.streams.delete(id) || this.closed) return;
    this.send(...frame(RST_STREAM, 0, id, u32(code)));
  }

  close(): void {
    this.closed = true;
    this.flush(); // frames queued in this turn (a last RST_STREAM) go before the end
    this.socket.end();
  }

  private send(...buffers: Buffer[]): void {
    for (const b of buffers) this.out.push(b);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  /** Writes the queued frames in one go (corked: one writev). */
  private flush(): void {
    this.flushQueued = false;
    const out = this.out;
    this.out = [];
    if (out.length === 0 || this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.cork();
    for (const b of out) this.socket.write(b);
    this.socket.uncork();
  }

  /** Sends queued request bytes in DATA frames within the peer's windows, streams taking turns. */
  private pump(): void {
    let progress = true;
    while (progress && this.connSendWindow > 0) {
      progress = false;
      for (const [id, s] of this.streams) {
        const first = s.queue[0];
        if (!first || s.sendWindow <= 0 || this.connSendWindow <= 0) continue;
        const n = Math.min(first.length - s.sentOf, s.sendWindow, this.connSendWindow, this.maxSendFrame);
        this.send(...frame(DATA, 0, id, first.subarray(s.sentOf, s.sentOf + n)));
        s.sentOf += n;
        s.sendWindow -= n;
        this.connSendWindow -= n;
        if (s.sentOf === first.length) {
          s.queue.shift();
          s.sentOf = 0;
        }
        progress = true;
      }
    }
  }

  private lost(reason: string): void {
    this.closed = true;
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const s of streams) if (!s.remoteDone) s.handler.onClosed(reason);
  }

  /** A connection error: tell every stream and drop the socket. */
  private fail(reason: string): void {
    this.lost(reason);
    this.socket.destroy();
  }

  private onRead(n: number): void {
    const view = READ_BUFFER;
    let at = 0;
    while (at < n && !this.socket.destroyed) {
      if (this.left < 0) {
        const take = Math.min(9 - this.headHave, n - at);
        view.copy(this.head, this.headHave, at, at + take);
        this.headHave += take;
        at += take;
        if (this.headHave < 9) return;
        this.headHave = 0;
        this.length = this.head.readUIntBE(0, 3);
        this.type = this.head[3]!;
        this.flags = this.head[4]!;
        this.streamId = this.head.readUInt32BE(5) & 0x7fffffff;
        if (this.length > MAX_FRAME) {
          this.fail(`INTERNAL: ${this.length}-byte frame (FRAME_SIZE_ERROR)`);
          return;
        }
        this.left = this.length;
        this.ctlHave = 0;
        this.pad = this.type === DATA && this.flags & PADDED ? -1 : 0;
        this.seen = 0;
        if (this.left === 0) this.frameDone();
        continue;
      }
      const take = Math.min(this.left, n - at);
      if (this.type === DATA) this.dataBytes(view, at, take);
      else {
        view.copy(this.ctl, this.ctlHave, at, at + take);
        this.ctlHave += take;
      }
      at += take;
      this.left -= take;
      if (this.left === 0) this.frameDone();
    }
  }

  /** DATA payload bytes [at, at + take) of the read buffer: the pad-length byte and the padding are not data. */
  private dataBytes(view: Buffer, at: number, take: number): void {
    let from = at;
    const end = at + take;
    if (this.pad < 0) {
      this.pad = view[from]!;
      from += 1;
      this.seen = 1;
    }
    // `seen` is the payload offset of `from`; the data ends where the padding starts.
    const dataEnd = this.length - this.pad;
    const upTo = Math.min(end, from + Math.max(0, dataEnd - this.seen));
    if (upTo > from) this.live(this.streamId)?.handler.onData(view.subarray(from, upTo));
    this.seen += end - from;
  }

  /** The stream if the server has not ended its side. */
  private live(id: number): StreamState | undefined {
    const s = this.streams.get(id);
    return s && !s.remoteDone ? s : undefined;
  }

  private frameDone(): void {
    this.left = -1;
    const p = this.ctl.subarray(0, this.ctlHave);
    if (this.block && this.type !== CONTINUATION) {
      this.fail('INTERNAL: header block interrupted');
      return;
    }
    switch (this.type) {
      case DATA:
        this.dataDone();
        return;
      case HEADERS: {
        let from = 0;
        let padLen = 0;
        if (this.flags & PADDED) {
          padLen = p[0] ?? 0;
          from = 1;
        }
        if (this.flags & PRIORITY) from += 5;
        if (from + padLen > p.length) {
          this.fail('INTERNAL: bad HEADERS padding');
          return;
        }
        this.block = { stream: this.streamId, end: (this.flags & END_STREAM) !== 0, parts: [], size: 0 };
        this.fragment(p.subarray(from, p.length - padLen));
        return;
      }
      case CONTINUATION:
        if (!this.block || this.block.stream !== this.streamId) {
          this.fail('INTERNAL: stray CONTINUATION');
          return;
        }
        this.fragment(p);
        return;
      case RST_STREAM: {
        const s = this.streams.get(this.streamId);
        this.streams.delete(this.streamId);
        if (s && !s.remoteDone) s.handler.onClosed(`RST_STREAM ${p.length >= 4 ? p.readUInt32BE(0) : '?'}`);
        return;
      }
      case SETTINGS:
        if (this.flags & ACK) return;
        this.settings(p);
        return;
      case PING:
        if (!(this.flags & ACK)) this.send(...frame(PING, ACK, 0, Buffer.from(p)));
        return;
      case GOAWAY: {
        this.closed = true;
        const last = p.length >= 4 ? p.readUInt32BE(0) & 0x7fffffff : 0;
        const code = p.length >= 8 ? p.readUInt32BE(4) : 0;
        for (const [id, s] of [...this.streams]) {
          if (id <= last) continue;
          this.streams.delete(id);
          if (!s.remoteDone) s.handler.onClosed(`UNAVAILABLE: GOAWAY ${code}`);
        }
        return;
      }
      case WINDOW_UPDATE: {
        const inc = p.length >= 4 ? p.readUInt32BE(0) & 0x7fffffff : 0;
        if (this.streamId === 0) this.connSendWindow += inc;
        else {
          const s = this.streams.get(this.streamId);
          if (s) s.sendWindow += inc;
        }
        this.pump();
        return;
      }
      case PUSH_PROMISE:
        this.fail('INTERNAL: PUSH_PROMISE with push disabled');
        return;
      default:
        return; // PRIORITY and unknown frame types are ignored
    }
  }

  private dataDone(): void {
    // Flow control counts the whole payload, padding included; give it back at half the window.
    this.connUnacked += this.length;
    if (this.connUnacked >= this.windowBytes / 2) {
      this.send(...frame(WINDOW_UPDATE, 0, 0, u32(this.connUnacked)));
      this.connUnacked = 0;
    }
    const s = this.live(this.streamId);
    if (!s) return;
    if (this.flags & END_STREAM) {
      s.remoteDone = true;
      s.handler.onDataEnd();
      return;
    }
    s.unacked += this.length;
    if (s.unacked >= this.windowBytes / 2) {
      this.send(...frame(WINDOW_UPDATE, 0, this.streamId, u32(s.unacked)));
      s.unacked = 0;
    }
  }

  private fragment(bytes: Buffer): void {
    const block = this.block!;
    block.parts.push(Buffer.from(bytes));
    block.size += bytes.length;
    if (block.size > MAX_HEADER_BLOCK) {
      this.fail('INTERNAL: header block too large');
      return;
    }
    if (!(this.flags & END_HEADERS)) return;
    this.block = undefined;
    // Every block is decoded, even for a stream we forgot: the dynamic table is the connection's.
    this.decoder.write(Buffer.concat(block.parts));
    this.decoder.execute();
    const fields = new Map<string, string>();
    for (let h = this.decoder.read(); h; h = this.decoder.read()) fields.set(h.name, h.value);
    if (this.decodeError) {
      this.fail(`INTERNAL: HPACK ${this.decodeError.message}`);
      return;
    }
    const s = this.live(block.stream);
    if (!s) return;
    if (block.end) s.remoteDone = true;
    s.handler.onHeaders(fields, block.end);
  }

  private settings(p: Buffer): void {
    for (let i = 0; i + 6 <= p.length; i += 6) {
      const id = p.readUInt16BE(i);
      const value = p.readUInt32BE(i + 2);
      if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
        const delta = value - this.initialSendWindow;
        this.initialSendWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (id === SETTINGS_MAX_FRAME_SIZE) this.maxSendFrame = value;
      // HEADER_TABLE_SIZE needs nothing: our encoder never uses the dynamic table.
    }
    this.send(...frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
    this.pump();
  }
}
