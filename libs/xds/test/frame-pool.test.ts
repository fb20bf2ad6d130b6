// Large frames are written into pooled buffers, reused only once every write of their last frame has flushed.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { jsonToStruct, lookupType, serviceClient, TypeUrl } from '@keel/proto';
import { Answers } from '../src/answer.js';
import { FramePool, POOL_MIN_BYTES, ReplyFrames } from '../src/frames.js';
import { makeResource, Snapshot } from '../src/index.js';
import { CallQueue, startXds, waitEvent } from './helpers.js';

const KB = 1024;

/** A reply of one 1.1 MB Cluster marked `v`: framed into a pooled chunk. */
const bigReply = (answers: Answers, v: string) =>
  answers.reply(TypeUrl.Cluster, v, [
    makeResource(TypeUrl.Cluster, 'c', { name: 'c', alt_stat_name: v.repeat(1100 * KB) }),
  ]);

test('FramePool: small frames are not pooled; a chunk comes back for the same or a slightly smaller size', () => {
  let clock = 0;
  const pool = new FramePool(4 * 1024 * KB, 1000, () => clock);
  assert.equal(pool.take(POOL_MIN_BYTES - 1), undefined, 'below the minimum: allocated as usual');
  const a = pool.take(1200 * KB)!;
  assert.ok(a.length >= 1200 * KB && a.length < 1300 * KB, `${a.length}`);
  pool.give(a);
  assert.equal(pool.bytesFree(), a.length);
  assert.equal(pool.take(1200 * KB - 10), a, 'the same chunk again');
  assert.equal(pool.reused, 1);
  pool.give(a);
  assert.notEqual(pool.take(2 * 1200 * KB), a, 'a chunk far too small is not used');
  assert.notEqual(pool.take(1024 * KB), a, 'nor one far too large');
  assert.equal(pool.bytesFree(), a.length);
  clock += 1001;
  pool.expire();
  assert.equal(pool.bytesFree(), 0, 'free chunks unused for the idle time are dropped');
  const kept = Buffer.allocUnsafe(2048 * KB);
  pool.give(kept);
  for (let i = 0; i < 20; i++) {
    clock += 1;
    pool.give(Buffer.allocUnsafe(1024 * KB));
  }
  assert.equal(pool.bytesFree(), 4 * 1024 * KB, 'free bytes stay within the cap');
  assert.notEqual(pool.take(2048 * KB), kept, 'the oldest chunk made room for newer ones');
});

test('ReplyFrames: a released shared frame is reused only after its last write flushed; a failed write never; an unshared one never', () => {
  const answers = new Answers();
  const pool = new FramePool();
  // Nothing held: each frame is released as soon as it is framed.
  const frames = new ReplyFrames(0, 0, () => 0, pool);
  const big = (v: string) => bigReply(answers, v);
  // Two streams send each reply (a scope's): the frame is shared.
  const shared = (v: string) => {
    const r = big(v);
    frames.framed(r);
    return frames.framed(r);
  };
  const one = shared('1');
  frames.writing(one);
  frames.writing(one);
  frames.sweep();
  assert.ok(one.released && one.chunk, 'released, chunk still held by the writes');
  const two = shared('2');
  assert.notEqual(two.chunk, one.chunk, 'a frame in flight is not reused');
  frames.written(one);
  assert.ok(one.chunk, 'one write still pending');
  frames.written(one);
  assert.equal(one.chunk, undefined, 'given back once both flushed');
  const reused = pool.reused;
  const three = shared('3');
  assert.equal(pool.reused, reused + 1);
  frames.writing(three);
  // `three`'s write fails: its callback never runs, so its chunk is never reused.
  frames.sweep();
  const four = shared('4');
  assert.notEqual(four.chunk, undefined);
  assert.notEqual(four.chunk, three.chunk);
  assert.equal(Buffer.from(three.bytes).includes(Buffer.from('3'.repeat(1000))), true, 'its bytes untouched');
  // One stream's frame (its own CDS) goes to the collector, not the pool.
  frames.sweep();
  const free = pool.bytesFree();
  const own = frames.framed(big('5'));
  const size = own.chunk!.length;
  assert.equal(pool.bytesFree(), free - size, 'taken from the pool');
  frames.sweep();
  assert.equal(own.chunk, undefined);
  assert.equal(pool.bytesFree(), free - size, 'not given back');
});

test('ReplyFrames: a shared pooled frame is let go once it stops being recent, whatever the byte bound', () => {
  const answers = new Answers();
  let clock = 0;
  const pool = new FramePool();
  const frames = new ReplyFrames(64 * 1024 * 1024, 1000, () => clock, pool);
  const reply = (v: string) => bigReply(answers, v);
  const scope = reply('a');
  const own = reply('b');
  const a = frames.framed(scope);
  frames.framed(scope);
  frames.framed(own);
  clock += 999;
  frames.sweep();
  assert.equal(frames.framed(scope), a, 'still recent: held');
  clock += 1000;
  frames.sweep();
  assert.equal(a.chunk, undefined, 'stale: its chunk is back in the pool');
  assert.equal(pool.bytesFree() > 0, true);
  assert.ok(frames.bytesRetained() >= 1100 * KB, "one stream's frame is held within the bound as before");
  const again = frames.framed(scope);
  assert.notEqual(again, a, 'framed again (into the reused chunk)');
  assert.equal(pool.reused, 1);
});

test('ReplyFrames: supersede lets go of recent shared frames at once; their chunks come back once flushed', () => {
  const answers = new Answers();
  const clock = 0;
  const pool = new FramePool();
  // Held by recency for a long time: only supersede lets go of them before it runs out.
  const frames = new ReplyFrames(64 * 1024 * 1024, 60_000, () => clock, pool);
  const reply = (v: string) => bigReply(answers, v);
  const scope = reply('a');
  const own = reply('b');
  const a = frames.framed(scope);
  frames.framed(scope);
  const mine = frames.framed(own);
  frames.writing(a);
  frames.supersede();
  assert.ok(a.released && a.chunk, 'let go, but its chunk is still held by the write in flight');
  assert.equal(mine.released, false, "one stream's frame is not a push's reply: kept as before");
  assert.equal(frames.bytesRetained(), mine.bytes.length);
  const next = reply('c');
  const c = frames.framed(next);
  assert.notEqual(c.chunk, a.chunk, 'not reused while in flight');
  frames.framed(next);
  frames.written(a);
  assert.equal(a.chunk, undefined, 'given back once flushed');
  frames.supersede();
  const d = frames.framed(reply('d'));
  assert.equal(pool.reused, 1, "the next push's frame takes a chunk let go by supersede");
  assert.ok([a, c].every((f) => f.chunk === undefined) && d.chunk !== undefined);
  const again = frames.framed(scope);
  assert.notEqual(again, a, 'a reply sent again after supersede is framed again');
  assert.equal(Buffer.from(again.bytes).equals(Buffer.from(frames.framed(scope).bytes)), true);
});

const Response = lookupType('envoy.service.discovery.v3.DiscoveryResponse');
const Request = lookupType('envoy.service.discovery.v3.DiscoveryRequest');
const Cluster = lookupType('envoy.config.cluster.v3.Cluster');
const bigCluster = (mark: string) =>
  makeResource(TypeUrl.Cluster, 'big', { name: 'big', alt_stat_name: mark.repeat(1100 * KB) });
const markOf = (message: Buffer): string => {
  const r = Response.decode(message) as unknown as { resources: Array<{ value: Uint8Array }> };
  const c = Cluster.decode(r.resources[0]!.value) as unknown as { alt_stat_name: string };
  const marks = new Set(c.alt_stat_name);
  assert.equal(marks.size, 1, 'one mark throughout: the bytes were not overwritten while in flight');
  return c.alt_stat_name[0]!;
};

test('over real HTTP/2: a shared frame a slow stream has not read yet is not reused while others are framed', async () => {
  // Frames are released at once, so only the writes in flight keep a chunk from the pool.
  const h = await startXds(10_000, { retainBytes: 0, recentMs: 0 });
  const session = http2.connect(`http://${h.address}`);
  const Ads = serviceClient('envoy.service.discovery.v3.AggregatedDiscoveryService');
  const client = new Ads(h.address, grpc.credentials.createInsecure());
  type Reply = { version_info: string; nonce: string; resources: Array<{ alt_stat_name: string }> };
  const calls: Array<CallQueue<Reply>> = [];
  const open = (id: string): CallQueue<Reply> => {
    const ads = new CallQueue<Reply>((client as any).StreamAggregatedResources());
    calls.push(ads);
    ads.write({ node: { id, cluster: 'test', metadata: jsonToStruct({}) }, type_url: TypeUrl.Cluster });
    return ads;
  };
  const markIn = (r: Reply): string => {
    const mark = r.resources[0]!.alt_stat_name;
    assert.equal(new Set(mark).size, 1);
    return mark[0]!;
  };
  try {
    h.cache.setSnapshot('slow', new Snapshot([bigCluster('s')]));
    // A raw HTTP/2 ADS stream that reads nothing: the 1.1 MB response stops at the 64 KB window.
    const slow = session.request({
      ':method': 'POST',
      ':path': '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    slow.pause();
    const request = Buffer.from(
      Request.encode(
        Request.fromObject({
          node: { id: 'slow', cluster: 'test', metadata: jsonToStruct({}) },
          type_url: TypeUrl.Cluster,
        }),
      ).finish(),
    );
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(request.length, 1);
    const sent = waitEvent(h.events, 'response', (s: { node: { id: string } }) => s.node.id === 'slow');
    slow.write(Buffer.concat([prefix, request]));
    await sent;
    // A second stream of the node reads the same reply: its frame is shared (and released at once).
    assert.equal(markIn(await open('slow').next()), 's');

    // Two streams of another node get frame after frame of the same size meanwhile.
    const marks = 'abcdefgh';
    h.cache.setSnapshot('fast', new Snapshot([bigCluster(marks[0]!)]));
    const fast = [open('fast'), open('fast')];
    for (let i = 0; i < marks.length; i++) {
      const replies = await Promise.all(fast.map((f) => f.next()));
      const acked = replies.map((r) => waitEvent(h.events, 'ack', (_s, _t, _v, n) => n === r.nonce));
      replies.forEach((r, k) => {
        assert.equal(markIn(r), marks[i]);
        fast[k]!.write({ type_url: TypeUrl.Cluster, version_info: r.version_info, response_nonce: r.nonce });
      });
      await Promise.all(acked);
      if (i + 1 < marks.length) h.cache.setSnapshot('fast', new Snapshot([bigCluster(marks[i + 1]!)]));
    }
    assert.ok(h.xds.framesPooled() >= marks.length - 2, `${h.xds.framesPooled()} frames into reused chunks`);

    // Now the slow stream reads: its frame is whole and unchanged.
    const chunks: Buffer[] = [];
    let length = -1;
    let have = 0;
    await new Promise<void>((resolve, reject) => {
      slow.on('data', (d: Buffer) => {
        chunks.push(d);
        have += d.length;
        if (length < 0 && have >= 5) length = Buffer.concat(chunks).readUInt32BE(1);
        if (length >= 0 && have >= 5 + length) resolve();
      });
      slow.on('error', reject);
      slow.resume();
    });
    assert.equal(markOf(Buffer.concat(chunks).subarray(5, 5 + length)), 's');
    slow.close();
  } finally {
    for (const c of calls) c.call.cancel();
    client.close();
    session.close();
    await h.stop();
  }
});
