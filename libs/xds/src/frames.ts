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

/**
 * Frames at least this long are framed into pooled chunks. Below it a push's frames add up to little (ten
 * 700 KB tables at 1,000 services), and pooling them measured worse: in the 10-minute soak at 1,000 services
 * Pilot's RSS crept 1.8-3.0 MB/min with 128 KB chunks pooled, -0.7 MB/min without.
 */
export const POOL_MIN_BYTES = 1024 * 1024;
/** Chunk sizes are multiples of this; a request takes a free chunk up to an eighth larger than it needs. */
const POOL_STEP = 64 * 1024;
/** Default bound of the bytes a pool holds free, and how long a free chunk is kept unused. */
export const POOL_CAP_BYTES = 128 * 1024 * 1024;
export const POOL_IDLE_MS = 60_000;

/**
 * Buffers of large frames, reused once every write of their last frame has flushed. A push frames each
 * scope's replies again (at 4,000 services, forty 2.8 MB RouteConfigurations): from fresh memory, every
 * page is a fault (on this VM, 25-40 ms a frame) and the new external memory drives V8 into full
 * collections of a heap of hundreds of MB. From reused chunks the same push measured 0.66 s of Pilot CPU
 * against 1.5-1.9 s. Free chunks are dropped after `idleMs` unused, and oldest first beyond `capBytes`.
 */
export class FramePool {
  /** Free chunks by size, each with when it was freed; oldest first. */
  private readonly free = new Map<number, Array<{ chunk: Buffer; at: number }>>();
  private freeBytes = 0;
  private timer?: NodeJS.Timeout;
  /** Chunks handed out again (for tests and the debug view). */
  reused = 0;

  constructor(
    private readonly capBytes = POOL_CAP_BYTES,
    private readonly idleMs = POOL_IDLE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A chunk of at least `length` bytes, or undefined when `length` is below POOL_MIN_BYTES. */
  take(length: number): Buffer | undefined {
    if (length < POOL_MIN_BYTES) return undefined;
    const size = Math.ceil(length / POOL_STEP) * POOL_STEP;
    for (let s = size; s <= size + size / 8; s += POOL_STEP) {
      const list = this.free.get(s);
      const got = list?.pop();
      if (!got) continue;
      if (list!.length === 0) this.free.delete(s);
      this.freeBytes -= s;
      this.reused += 1;
      return got.chunk;
    }
    return Buffer.allocUnsafe(size);
  }

  /** Gives a chunk from `take` back; nothing may read or write it afterwards. */
  give(chunk: Buffer): void {
    this.expire();
    if (chunk.length > this.capBytes) return;
    while (this.freeBytes + chunk.length > this.capBytes) this.dropOldest();
    const list = this.free.get(chunk.length) ?? [];
    list.push({ chunk, at: this.now() });
    this.free.set(chunk.length, list);
    this.freeBytes += chunk.length;
    if (!this.timer) {
      this.timer = setInterval(() => this.expire(), this.idleMs);
      this.timer.unref();
    }
  }

  /** Bytes of free chunks held. */
  bytesFree(): number {
    return this.freeBytes;
  }

  private dropOldest(): void {
    let oldest: number | undefined;
    for (const [size, list] of this.free)
      if (oldest === undefined || list[0]!.at < this.free.get(oldest)![0]!.at) oldest = size;
    const list = this.free.get(oldest!)!;
    list.shift();
    this.freeBytes -= oldest!;
    if (list.length === 0) this.free.delete(oldest!);
  }

  /** Drops chunks free for longer than the idle time. */
  expire(): void {
    const cutoff = this.now() - this.idleMs;
    for (const [size, list] of this.free) {
      let n = 0;
      while (n < list.length && list[n]!.at <= cutoff) n++;
      if (n === 0) continue;
      list.splice(0, n);
      this.freeBytes -= n * size;
      if (list.length === 0) this.free.delete(size);
    }
    if (this.free.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

interface Entry {
  /** The frame while its owner holds it (strongly in `retained`, or weakly beyond the bound). */
  bytes?: WeakRef<Framed>;
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
    readonly pool = new FramePool(),
  ) {}

  /** The DiscoveryResponse of `reply` with its nonce, gRPC-framed; encoded once. */
  framed(reply: Reply): Framed {
    let entry = this.frames.get(reply);
    let framed = entry?.bytes?.deref();
    if (!framed) {
      const built = framedSotw(reply.version, reply.typeUrl, reply.resources, reply.nonce, this.pool);
      this.encodings += 1;
      framed = built.framed;
      entry = { bytes: new WeakRef(framed), bodyLength: built.bodyLength, uses: entry?.uses ?? 0 };
      this.frames.set(reply, entry);
    }
    entry!.uses += 1;
    this.retain(reply, framed, entry!.uses > 1);
    return framed;
  }

  /**
   * Holds `reply`'s frame (the one just handed out: a sweep never lets it go, so its writer can call
   * `writing` first) and lets go of what the bounds say.
   */
  private retain(reply: Reply, framed: Framed, shared: boolean): void {
    const held = this.retained.get(reply);
    if (held) {
      this.retained.delete(reply);
      this.retainedBytes -= held.framed.bytes.length;
    }
    this.retained.set(reply, { framed, at: this.now(), shared });
    this.retainedBytes += framed.bytes.length;
    this.sweep(reply);
  }

  /** The DiscoveryResponse bytes of `reply` without a nonce (a view of its frame). */
  body(reply: Reply): Buffer {
    const framed = this.framed(reply);
    return framed.message.subarray(0, this.frames.get(reply)!.bodyLength);
  }

  /** A stream is about to write `framed` (call `written` from the write's callback). */
  writing(framed: Framed): void {
    framed.pending += 1;
  }

  /**
   * A write of `framed` flushed. A write that fails never calls this: its frame is then never reused, only
   * collected, since HTTP/2 may still hold part of it.
   */
  written(framed: Framed): void {
    framed.pending -= 1;
    if (framed.pending === 0 && framed.released) this.recycle(framed);
  }

  private recycle(framed: Framed): void {
    const chunk = framed.chunk;
    if (!chunk) return;
    framed.chunk = undefined;
    this.pool.give(chunk);
  }

  /** Bytes of frames currently held strongly. */
  bytesRetained(): number {
    return this.retainedBytes;
  }

  /** Replies encoded and framed so far (again after their bytes were collected). */
  encoded(): number {
    return this.encodings;
  }

  /**
   * A push is replacing the replies: shared frames in pooled chunks are let go now, recent or not, so their
   * chunks come back as soon as their writes flush and the push frames its scopes' new replies into them.
   * Held only for recency, they would be in use for RECENT_MS more: pushes that close together (a second
   * apart at 4,000 services) framed every RouteConfiguration into fresh memory, at 25-40 ms of page faults
   * each. A reply sent again afterwards (a reconnecting proxy) is framed again, with the same bytes.
   */
  supersede(): void {
    for (const [reply, { framed, shared }] of [...this.retained]) {
      if (shared && framed.chunk !== undefined) this.letGo(reply, framed, true);
    }
  }

  private letGo(reply: Reply, framed: Framed, pooled: boolean): void {
    this.retained.delete(reply);
    this.retainedBytes -= framed.bytes.length;
    if (pooled) {
      // Not handed out again: its chunk is reused once no write holds it. A frame one stream used (its
      // own CDS) stays weakly held as before, and its chunk goes to the collector.
      this.frames.get(reply)!.bytes = undefined;
      framed.released = true;
      if (framed.pending === 0) this.recycle(framed);
    } else framed.chunk = undefined;
  }

  /**
   * Lets go of the least recently used frames beyond the byte bound, except shared ones used recently (up to
   * the recent cap); when such a one is in the way, comes back once it stops being recent. A shared frame in a
   * pooled chunk (a scope's reply) goes once it stops being recent whatever the bound: the next push frames
   * its scope's reply again, into that chunk once its writes have flushed.
   */
  sweep(keep?: Reply): void {
    const now = this.now();
    let wake: number | undefined;
    const later = (at: number) => {
      const due = this.recentMs - (now - at) + 1;
      wake = wake === undefined ? due : Math.min(wake, due);
    };
    for (const [reply, { framed, at, shared }] of this.retained) {
      if (reply === keep) continue;
      const recent = now - at < this.recentMs;
      const pooled = shared && framed.chunk !== undefined;
      if (this.retainedBytes <= this.retainBytes && !(pooled && !recent)) {
        if (pooled) later(at);
        continue;
      }
      if (shared && recent && this.retainedBytes <= RECENT_CAP_BYTES) {
        later(at);
        continue;
      }
      this.letGo(reply, framed, pooled);
    }
    if (wake !== undefined && !this.sweepTimer) {
      this.sweepTimer = setTimeout(() => {
        this.sweepTimer = undefined;
        this.sweep();
      }, wake);
      this.sweepTimer.unref();
    }
  }
}
