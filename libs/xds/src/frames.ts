import type { Reply } from './answer.js';
import { type Framed, framedSotw } from './wire.js';

/**
 * Default bound of the framed bytes one server holds strongly once they are no longer recent. 16 MB holds a
 * push's shared replies many times over at 1,000 services (ten 300 KB RouteConfigurations); at 32 MB, Pilot's
 * steady-state RSS with 1,000 proxies carried the difference (per-proxy CDS replies from the last storm).
 */
export const RETAIN_BYTES = 16 * 1024 * 1024;

/**
 * Frames of shared replies used this recently are held whatever the byte bound (up to RECENT_CAP_BYTES), so a
 * connect storm's one-proxy replies (own CDS) do not pile up while shared ones do not go: a push writes each
 * scope's replies to its proxies within a few seconds, and at 2,000 services (twenty 1.25 MB
 * RouteConfigurations) a byte bound alone let the collector take frames between two proxies of one scope,
 * so they were framed again for nearly every stream.
 */
export const RECENT_MS = 3000;
export const RECENT_CAP_BYTES = 256 * 1024 * 1024;

interface Entry {
  bytes: WeakRef<Framed>;
  /** Calls for this reply's frame so far: more than one means streams share it. */
  uses: number;
  /** Length of the DiscoveryResponse without its nonce field (the start of the framed message). */
  bodyLength: number;
}

/**
 * The gRPC frames of one server's SotW replies: a reply is encoded and framed once (with its own nonce) and
 * the same bytes are written to every stream sending it. Frames of replies several streams sent are held
 * strongly while recently used (see RECENT_MS), then the most recently used up to `retainBytes`, and only
 * weakly beyond: a reply unique to one proxy (its own CDS) does not keep hundreds of KB alive after it is
 * sent, while replies shared by many streams stay hot. A reply whose bytes were collected is framed again
 * (the same bytes). Owned by one server: nothing is shared with another.
 */
export class ReplyFrames {
  private readonly frames = new WeakMap<Reply, Entry>();
  /** Held strongly, least recently used first, with when each was last used. */
  private readonly retained = new Map<Reply, { framed: Framed; at: number; shared: boolean }>();
  private retainedBytes = 0;
  private encodings = 0;
  private sweepTimer?: NodeJS.Timeout;

  constructor(
    private readonly retainBytes = RETAIN_BYTES,
    private readonly recentMs = RECENT_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The DiscoveryResponse of `reply` with its nonce, gRPC-framed; encoded once. */
  framed(reply: Reply): Framed {
    let entry = this.frames.get(reply);
    let framed = entry?.bytes.deref();
    if (!framed) {
      const built = framedSotw(reply.version, reply.typeUrl, reply.resources, reply.nonce);
      this.encodings += 1;
      framed = built.framed;
      entry = { bytes: new WeakRef(framed), bodyLength: built.bodyLength, uses: entry?.uses ?? 0 };
      this.frames.set(reply, entry);
    }
    entry!.uses += 1;
    this.retain(reply, framed, entry!.uses > 1);
    return framed;
  }

  /** The DiscoveryResponse bytes of `reply` without a nonce (a view of its frame). */
  body(reply: Reply): Buffer {
    const framed = this.framed(reply);
    return framed.message.subarray(0, this.frames.get(reply)!.bodyLength);
  }

  /** Bytes of frames currently held strongly. */
  bytesRetained(): number {
    return this.retainedBytes;
  }

  /** Replies encoded and framed so far (again after their bytes were collected). */
  encoded(): number {
    return this.encodings;
  }

  private retain(reply: Reply, framed: Framed, shared: boolean): void {
    const held = this.retained.get(reply);
    if (held) {
      this.retained.delete(reply);
      this.retainedBytes -= held.framed.bytes.length;
    }
    this.retained.set(reply, { framed, at: this.now(), shared });
    this.retainedBytes += framed.bytes.length;
    this.sweep();
  }

  /**
   * Lets go of the least recently used frames beyond the byte bound, except shared ones used recently (up to
   * the recent cap); when such a one is in the way, comes back once it stops being recent.
   */
  sweep(): void {
    const now = this.now();
    let wake: number | undefined;
    for (const [reply, { framed, at, shared }] of this.retained) {
      if (this.retainedBytes <= this.retainBytes) break;
      if (shared && now - at < this.recentMs && this.retainedBytes <= RECENT_CAP_BYTES) {
        wake ??= this.recentMs - (now - at) + 1;
        continue;
      }
      this.retained.delete(reply);
      this.retainedBytes -= framed.bytes.length;
    }
    if (wake !== undefined && this.retainedBytes > this.retainBytes && !this.sweepTimer) {
      this.sweepTimer = setTimeout(() => {
        this.sweepTimer = undefined;
        this.sweep();
      }, wake);
      this.sweepTimer.unref();
    }
  }
}
