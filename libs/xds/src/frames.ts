import type { Reply } from './answer.js';
import { type Framed, framedSotw } from './wire.js';

/**
 * Default bound of the framed bytes one server holds strongly. 16 MB holds a push's shared replies many
 * times over (a 1,000-service mesh: ten 300 KB RouteConfigurations); at 32 MB, Pilot's steady-state RSS
 * with 1,000 proxies carried the difference (per-proxy CDS replies from the last storm).
 */
export const RETAIN_BYTES = 16 * 1024 * 1024;

interface Entry {
  bytes: WeakRef<Framed>;
  /** Length of the DiscoveryResponse without its nonce field (the start of the framed message). */
  bodyLength: number;
}

/**
 * The gRPC frames of one server's SotW replies: a reply is encoded and framed once (with its own nonce) and
 * the same bytes are written to every stream sending it. Frames are held strongly by the most recently used
 * replies up to `retainBytes`, and only weakly beyond: a reply unique to one proxy (its own CDS) does not
 * keep hundreds of KB alive after it is sent, while replies shared by many streams stay hot. A reply whose
 * bytes were collected is framed again (the same bytes). Owned by one server: nothing is shared with another.
 */
export class ReplyFrames {
  private readonly frames = new WeakMap<Reply, Entry>();
  private readonly retained = new Map<Reply, Framed>();
  private retainedBytes = 0;
  private encodings = 0;

  constructor(private readonly retainBytes = RETAIN_BYTES) {}

  /** The DiscoveryResponse of `reply` with its nonce, gRPC-framed; encoded once. */
  framed(reply: Reply): Framed {
    let entry = this.frames.get(reply);
    let framed = entry?.bytes.deref();
    if (!framed) {
      const built = framedSotw(reply.version, reply.typeUrl, reply.resources, reply.nonce);
      this.encodings += 1;
      framed = built.framed;
      entry = { bytes: new WeakRef(framed), bodyLength: built.bodyLength };
      this.frames.set(reply, entry);
    }
    this.retain(reply, framed);
    return framed;
  }

  /** The DiscoveryResponse bytes of `reply` without a nonce (a view of its frame). */
  body(reply: Reply): Buffer {
    const framed = this.framed(reply);
    return framed.message.subarray(0, this.frames.get(reply)!.bodyLength);
  }

  /** Bytes of frames currently held strongly (at most the bound plus the latest reply). */
  bytesRetained(): number {
    return this.retainedBytes;
  }

  /** Replies encoded and framed so far (again after their bytes were collected). */
  encoded(): number {
    return this.encodings;
  }

  private retain(reply: Reply, framed: Framed): void {
    if (this.retained.delete(reply)) this.retainedBytes -= framed.bytes.length;
    this.retained.set(reply, framed);
    this.retainedBytes += framed.bytes.length;
    for (const [oldest, bytes] of this.retained) {
      if (this.retainedBytes <= this.retainBytes || oldest === reply) break;
      this.retained.delete(oldest);
      this.retainedBytes -= bytes.bytes.length;
    }
  }
}
