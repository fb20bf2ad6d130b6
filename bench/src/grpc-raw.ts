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
  /** The call ended: undefined when OK (or cancelled by us), else `CODE: details`. */
  onEnd(error: string | undefined): void;
}

/** One HTTP/2 connection carrying many gRPC calls. */
export class RawChannel {
  private readonly session: http2.ClientHttp2Session;

  /** `windowBytes`: the HTTP/2 flow-control window for each stream and the connection. */
  constructor(address: string, windowBytes = 16 * 1024 * 1024) {
    this.session = http2.connect(`http://${address}`, { settings: { initialWindowSize: windowBytes } });
    this.session.on('connect', () => this.session.setLocalWindowSize(windowBytes));
    this.session.on('error', () => {}); // each stream reports its own end
  }

  /** Opens a bidi-streaming call to `path`. */
  call(path: string, handlers: RawStreamHandlers): RawCall {
    return new RawCall(this.session, path, handlers);
  }

  close(): void {
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
      handlers.onEnd(this.cancelled ? undefined : error);
    };
    const statusOf = (headers: http2.IncomingHttpHeaders) => {
      const code = Number(headers['grpc-status']);
      if (headers['grpc-status'] === undefined || code === 0) return;
      const details = decodeURIComponent(String(headers['grpc-message'] ?? ''));
      this.status = `${GrpcStatus[code] ?? code}: ${details}`;
    };
    this.stream.on('response', statusOf); // trailers-only responses carry the status here
    this.stream.on('trailers', statusOf);
    this.stream.on('data', (chunk: Buffer) => this.onData(chunk, handlers));
    this.stream.on('error', (e: Error) => end(this.status ?? `UNAVAILABLE: ${e.message}`));
    this.stream.on('close', () => end(this.status));
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
