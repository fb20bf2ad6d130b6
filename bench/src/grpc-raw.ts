// A gRPC client transport for the load generator, straight on node:http2: one process simulates a thousand
// proxies, so per-chunk overhead matters. gRPC's wire format is plain: each message is a 5-byte prefix
// (compressed flag, big-endian length) and the bytes; status comes in trailers. Message bodies are handed
// over as the HTTP/2 chunks they arrived in, never concatenated (see ChunkReader).
import http2 from 'node:http2';
import { status as GrpcStatus } from '@grpc/grpc-js';

/** A received message: its bytes as consecutive views (possibly spanning several chunks). */
export interface Chunks {
  parts: Buffer[];
  length: number;
}

export interface RawStreamHandlers {
  onMessage(message: Chunks): void;
  /** The call ended: undefined when cancelled by us, else why (`CODE: details`, `OK: server ended the call`). */
  onEnd(error: string | undefined): void;
}

/** One HTTP/2 connection carrying many gRPC calls; a new one is opened when it went away. */
export class RawChannel {
  private session: http2.ClientHttp2Session;
  /** Sessions opened after the first (the server closed or reset the connection). */
  reconnects = 0;
  private closed = false;

  /**
   * `windowBytes`: the HTTP/2 flow-control window for each stream and the connection; Envoy's default for
   * both (initial_stream_window_size, initial_connection_window_size: 256 MiB). With 16 MiB, one connection
   * carrying a hundred sidecars' 1-2 MB RouteConfigurations spent the push waiting for window updates: the
   * server idle, the load client busy with small reads, push p90 4x what the same bytes took at once. `sessionMemoryMb`:
   * node's per-session memory cap (default 10 MB): past it nghttp2 refuses new streams with
   * ENHANCE_YOUR_CALM, so a load client must size it for what its streams hold at once.
   */
  constructor(
    private readonly address: string,
    private readonly windowBytes = 256 * 1024 * 1024,
    private readonly sessionMemoryMb = 10,
  ) {
    this.session = this.open();
  }

  private open(): http2.ClientHttp2Session {
    const session = http2.connect(`http://${this.address}`, {
      settings: { initialWindowSize: this.windowBytes },
      maxSessionMemory: this.sessionMemoryMb,
    });
    session.on('connect', () => session.setLocalWindowSize(this.windowBytes));
    session.on('error', () => {}); // each stream reports its own end
    return session;
  }

  /** Opens a bidi-streaming call to `path` (on a new connection when the last one is gone). */
  call(path: string, handlers: RawStreamHandlers): RawCall {
    if (!this.closed && (this.session.closed || this.session.destroyed)) {
      this.session = this.open();
      this.reconnects += 1;
    }
    return new RawCall(this.session, path, handlers);
  }

  close(): void {
    this.closed = true;
    this.session.close();
  }
}

export class RawCall {
  private readonly stream: http2.ClientHttp2Stream;
  private header = Buffer.alloc(5);
  private headerHave = 0;
  private remaining = -1;
  private parts: Buffer[] = [];
  private length = 0;
  private cancelled = false;
  private ended = false;
  private status: string | undefined;

  constructor(session: http2.ClientHttp2Session, path: string, handlers: RawStreamHandlers) {
    this.stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const end = (error: string | undefined) => {
      if (this.ended) return;
      this.ended = true;
      // Our half too: a call the server ended must not keep a stream open on the connection.
      if (!this.stream.closed) this.stream.close();
      handlers.onEnd(this.cancelled ? undefined : error);
    };
    const statusOf = (headers: http2.IncomingHttpHeaders) => {
      const code = Number(headers['grpc-status']);
      if (headers['grpc-status'] === undefined || code === 0) return;
      const details = decodeURIComponent(String(headers['grpc-message'] ?? ''));
      this.status = `${GrpcStatus[code] ?? code}: ${details}`;
    };
    const serverDone = () => end(this.status ?? (this.cancelled ? undefined : 'OK: server ended the call'));
    // Trailers-only responses carry the status in the headers, with END_STREAM.
    this.stream.on('response', (headers, flags) => {
      statusOf(headers);
      if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) serverDone();
    });
    // The server's side is done (END_STREAM): the call is over even while ours is still open.
    this.stream.on('end', serverDone);
    // Trailers end the call (the stream's close may come much later, or never under load).
    this.stream.on('trailers', (headers) => {
      statusOf(headers);
      serverDone();
    });
    this.stream.on('data', (chunk: Buffer) => this.onData(chunk, handlers));
    this.stream.on('error', (e: Error) => end(this.status ?? `UNAVAILABLE: ${e.message}`));
    this.stream.on('close', () =>
      end(
        this.status ??
          (this.stream.rstCode ? `RST_STREAM ${this.stream.rstCode}` : 'OK: server ended the call'),
      ),
    );
  }

  write(message: Uint8Array): void {
    if (this.ended) return;
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(message.length, 1);
    this.stream.write(Buffer.concat([prefix, message]));
  }

  cancel(): void {
    this.cancelled = true;
    if (!this.stream.closed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  private onData(chunk: Buffer, handlers: RawStreamHandlers): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining < 0) {
        const take = Math.min(5 - this.headerHave, chunk.length - at);
        chunk.copy(this.header, this.headerHave, at, at + take);
        this.headerHave += take;
        at += take;
        if (this.headerHave < 5) return;
        if (this.header[0] !== 0) throw new Error('compressed gRPC messages are not supported here');
        this.remaining = this.header.readUInt32BE(1);
        this.headerHave = 0;
        this.parts = [];
        this.length = 0;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      if (take > 0) this.parts.push(chunk.subarray(at, at + take));
      this.length += take;
      this.remaining -= take;
      at += take;
      if (this.remaining === 0) {
        this.remaining = -1;
        handlers.onMessage({ parts: this.parts, length: this.length });
      }
    }
  }
}

/** Reads protobuf wire format across a list of chunks; bytes are views unless a field straddles chunks. */
export class ChunkReader {
  private part = 0;
  private at = 0;
  pos = 0;

  constructor(private readonly chunks: Chunks) {}

  get done(): boolean {
    return this.pos >= this.chunks.length;
  }

  private byte(): number {
    let p = this.chunks.parts[this.part]!;
    while (this.at >= p.length) {
      this.part += 1;
      this.at = 0;
      p = this.chunks.parts[this.part]!;
    }
    this.pos += 1;
    return p[this.at++]!;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
    }
  }

  skip(n: number): void {
    let left = n;
    this.pos += n;
    while (left > 0) {
      const p = this.chunks.parts[this.part]!;
      const step = Math.min(left, p.length - this.at);
      left -= step;
      this.at += step;
      if (this.at >= p.length && left > 0) {
        this.part += 1;
        this.at = 0;
      }
    }
  }

  bytes(n: number): Buffer {
    let p = this.chunks.parts[this.part]!;
    if (this.at >= p.length) {
      this.part += 1;
      this.at = 0;
      p = this.chunks.parts[this.part]!;
    }
    if (this.at + n <= p.length) {
      const view = p.subarray(this.at, this.at + n);
      this.at += n;
      this.pos += n;
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      p = this.chunks.parts[this.part]!;
      const step = Math.min(n - filled, p.length - this.at);
      p.copy(out, filled, this.at, this.at + step);
      filled += step;
      this.at += step;
      if (this.at >= p.length && filled < n) {
        this.part += 1;
        this.at = 0;
      }
    }
    this.pos += n;
    return out;
  }

  /** Skips a field of `wireType` (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32). */
  skipField(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.skip(8);
    else if (wireType === 2) this.skip(this.varint());
    else if (wireType === 5) this.skip(4);
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}
