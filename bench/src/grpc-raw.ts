// A gRPC client transport for the load generator on the bench's own HTTP/2 connection (h2-client.ts): one
// process simulates a thousand proxies, so per-byte overhead matters. gRPC's wire format is plain: each
// message is a 5-byte prefix (compressed flag, big-endian length) and the bytes; status comes in trailers.
// Message bodies are streamed to the caller as views of the socket's read buffer, never held or copied here.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { CANCEL, H2Connection, type H2StreamHandler } from './h2-client.js';

/** Reads one message as it arrives: `push` views are valid only during the call. */
export interface MessageSink {
  push(bytes: Buffer): void;
  end(): void;
}

export interface RawStreamHandlers {
  /** A message of `length` bytes begins; its bytes go to the sink returned. */
  begin(length: number): MessageSink;
  /** The call ended: undefined when cancelled by us, else why (`CODE: details`, `OK: server ended the call`). */
  onEnd(error: string | undefined): void;
}

/** One HTTP/2 connection carrying many gRPC calls; a new one is opened when it went away. */
export class RawChannel {
  private conn: H2Connection;
  /** Connections opened after the first (the server closed or reset the connection). */
  reconnects = 0;
  private closed = false;

  /**
   * `windowBytes`: the HTTP/2 flow-control window for each stream and the connection; Envoy's default for
   * both (initial_stream_window_size, initial_connection_window_size: 256 MiB). With 16 MiB, one connection
   * carrying a hundred sidecars' 1-2 MB RouteConfigurations spent the push waiting for window updates: the
   * server idle, the load client busy with small reads, push p90 4x what the same bytes took at once.
   */
  constructor(
    private readonly address: string,
    private readonly windowBytes = 256 * 1024 * 1024,
  ) {
    this.conn = new H2Connection(address, windowBytes);
  }

  /** Opens a bidi-streaming call to `path` (on a new connection when the last one is gone). */
  call(path: string, handlers: RawStreamHandlers): RawCall {
    if (!this.closed && this.conn.closed) {
      this.conn = new H2Connection(this.address, this.windowBytes);
      this.reconnects += 1;
    }
    return new RawCall(this.conn, this.address, path, handlers);
  }

  close(): void {
    this.closed = true;
    this.conn.close();
  }
}

export class RawCall implements H2StreamHandler {
  private readonly id: number;
  private readonly header = Buffer.alloc(5);
  private headerHave = 0;
  /** Bytes left of the message being read; -1 while reading a prefix. */
  private remaining = -1;
  private sink: MessageSink | undefined;
  private cancelled = false;
  private ended = false;
  private status: string | undefined;

  constructor(
    private readonly conn: H2Connection,
    authority: string,
    path: string,
    private readonly handlers: RawStreamHandlers,
  ) {
    this.id = conn.open(this, [
      [':authority', authority],
      [':path', path],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
    ]);
  }

  write(message: Uint8Array): void {
    if (this.ended) return;
    const framed = Buffer.allocUnsafe(5 + message.length);
    framed[0] = 0;
    framed.writeUInt32BE(message.length, 1);
    framed.set(message, 5);
    this.conn.write(this.id, framed);
  }

  cancel(): void {
    this.cancelled = true;
    this.conn.reset(this.id, CANCEL);
    this.end(undefined);
  }

  private end(error: string | undefined): void {
    if (this.ended) return;
    this.ended = true;
    // Our half too: a call the server ended must not keep a stream open on the connection.
    this.conn.finish(this.id);
    this.handlers.onEnd(this.cancelled ? undefined : error);
  }

  /** Response headers, or trailers; a trailers-only response carries the status with END_STREAM. */
  onHeaders(fields: Map<string, string>, end: boolean): void {
    const raw = fields.get('grpc-status');
    const code = Number(raw);
    if (raw !== undefined && code !== 0) {
      let details = fields.get('grpc-message') ?? '';
      try {
        details = decodeURIComponent(details);
      } catch {
        // left percent-encoded
      }
      this.status = `${GrpcStatus[code] ?? code}: ${details}`;
    }
    if (end) this.end(this.status ?? 'OK: server ended the call');
  }

  /** The server's side ended without trailers. */
  onDataEnd(): void {
    this.end(this.status ?? 'OK: server ended the call');
  }

  onClosed(reason: string): void {
    this.end(this.status ?? reason);
  }

  /** A message the sink cannot read ends the call (the socket's read callback must never throw). */
  onData(chunk: Buffer): void {
    try {
      this.read(chunk);
    } catch (e) {
      this.conn.reset(this.id, CANCEL);
      this.end(`INTERNAL: ${(e as Error).message}`);
    }
  }

  private read(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.ended) {
      if (this.remaining < 0) {
        const take = Math.min(5 - this.headerHave, chunk.length - at);
        chunk.copy(this.header, this.headerHave, at, at + take);
        this.headerHave += take;
        at += take;
        if (this.headerHave < 5) return;
        this.headerHave = 0;
        if (this.header[0] !== 0) throw new Error('compressed gRPC messages are not supported here');
        this.remaining = this.header.readUInt32BE(1);
        this.sink = this.handlers.begin(this.remaining);
      }
      const take = Math.min(this.remaining, chunk.length - at);
      if (take > 0) this.sink!.push(chunk.subarray(at, at + take));
      this.remaining -= take;
      at += take;
      if (this.remaining === 0) {
        this.remaining = -1;
        const sink = this.sink!;
        this.sink = undefined;
        sink.end();
      }
    }
  }
}
