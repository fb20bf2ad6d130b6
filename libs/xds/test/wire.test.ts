import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lookupType, TypeUrl } from '@keel/proto';
import { Answers } from '../src/answer.js';
import { RECENT_MS, RETAIN_BYTES, ReplyFrames } from '../src/frames.js';
import { makeResource, RepeatedResource } from '../src/index.js';
import { encodeSotwBody, Framed, framedSotw, withNonce, writeFramedAsIs } from '../src/wire.js';
import { edsCluster } from './helpers.js';

test('a shared body plus an appended nonce decodes as one DiscoveryResponse; Framed carries the gRPC prefix', () => {
  const body = encodeSotwBody('v1', TypeUrl.Cluster, [edsCluster('c1'), edsCluster('c2')]);
  const framed = new Framed(withNonce(body, 'n7'));
  assert.equal(framed.bytes[0], 0);
  assert.equal(framed.bytes.readUInt32BE(1), framed.bytes.length - 5);
  const Response = lookupType('envoy.service.discovery.v3.DiscoveryResponse');
  const m = Response.toObject(Response.decode(framed.message)) as Record<string, any>;
  assert.equal(m.version_info, 'v1');
  assert.equal(m.type_url, TypeUrl.Cluster);
  assert.equal(m.nonce, 'n7');
  assert.equal(m.resources.length, 2);
});

test('framedSotw writes the same bytes as encodeSotwBody + withNonce + Framed, in one buffer', () => {
  const big = makeResource(TypeUrl.Cluster, 'big', { name: 'big', alt_stat_name: 'x'.repeat(70_000) });
  const empty = makeResource(TypeUrl.Cluster, '', {});
  for (const [version, resources, nonce] of [
    ['v1', [edsCluster('c1'), edsCluster('c2')], 'n7'],
    ['', [], 'r1'],
    ['vé', [big, empty, edsCluster('ü')], 'r'.repeat(200)],
  ] as const) {
    const old = new Framed(withNonce(encodeSotwBody(version, TypeUrl.Cluster, resources), nonce));
    const { framed, bodyLength } = framedSotw(version, TypeUrl.Cluster, resources, nonce);
    assert.deepEqual(framed.bytes, old.bytes);
    assert.equal(bodyLength, encodeSotwBody(version, TypeUrl.Cluster, resources).length);
  }
});

test('writeFramedAsIs passes Framed bytes through the call framing step and leaves other messages to it', () => {
  const framed = new Framed(Buffer.from([1, 2, 3]));
  const inner = { serializeMessage: (m: unknown) => Buffer.from(`copied:${String(m)}`) };
  writeFramedAsIs({ call: inner });
  assert.equal(inner.serializeMessage(framed), framed.bytes, 'no copy');
  assert.equal(inner.serializeMessage('x').toString(), 'copied:x');
  assert.doesNotThrow(() => writeFramedAsIs({ call: {} }), 'another call shape is left alone');
});

test('framed replies: recent ones are held, older ones only up to a bound; a reply frames the same bytes again', () => {
  // Frames below POOL_MIN_BYTES (pooled ones are let go sooner: frame-pool.test.ts).
  const SIZE = 100 * 1024;
  const big = (i: number) =>
    makeResource(TypeUrl.Cluster, `c${i}`, { name: `c${i}`, alt_stat_name: 'x'.repeat(SIZE) });
  const answers = new Answers();
  let clock = 0;
  const frames = new ReplyFrames(RETAIN_BYTES, RECENT_MS, () => clock);
  const replies = Array.from({ length: Math.ceil((3 * RETAIN_BYTES) / SIZE) }, (_, i) =>
    answers.reply(TypeUrl.Cluster, `v${i}`, [big(i)]),
  );
  const first = Buffer.from(frames.framed(replies[0]!).bytes);
  assert.equal(frames.framed(replies[0]!), frames.framed(replies[0]!), 'one frame while it is held');
  assert.equal(frames.encoded(), 1);
  for (const r of replies) frames.framed(r);
  const once = frames.bytesRetained();
  assert.ok(
    once <= RETAIN_BYTES + 2 * SIZE,
    `${once} bytes: frames one stream used are held within the bound`,
  );
  // A second stream sends each: shared frames used within RECENT_MS are all held, whatever the bound.
  for (const r of replies) frames.framed(r);
  for (const r of replies) frames.framed(r);
  assert.ok(frames.bytesRetained() >= replies.length * SIZE, 'shared frames used recently are all held');
  clock += RECENT_MS / 2;
  const encoded = frames.encoded();
  frames.framed(replies[1]!);
  assert.equal(frames.encoded(), encoded, 'a recent shared frame is not framed again');
  clock += RECENT_MS;
  frames.sweep();
  const retained = frames.bytesRetained();
  assert.ok(retained <= RETAIN_BYTES + SIZE, `${retained} bytes retained`);
  assert.ok(retained >= RETAIN_BYTES - 2 * SIZE, 'recent replies stay held');
  assert.deepEqual(Buffer.from(frames.framed(replies[0]!).bytes), first, 'same bytes when framed again');
  const body = frames.body(replies[0]!);
  assert.deepEqual(body, first.subarray(5, 5 + body.length));
  assert.deepEqual(
    withNonce(body, replies[0]!.nonce),
    first.subarray(5),
    'the body plus the reply nonce is the framed message',
  );
  const other = new ReplyFrames();
  assert.equal(other.bytesRetained(), 0, 'another server holds nothing of these');
  assert.notEqual(other.framed(replies[1]!), frames.framed(replies[1]!), 'each server frames for itself');
  assert.deepEqual(other.framed(replies[1]!).bytes, frames.framed(replies[1]!).bytes);
});

test('RepeatedResource: framed from its parts, the same bytes as the whole message framed', () => {
  const Rc = lookupType('envoy.config.route.v3.RouteConfiguration');
  const Vh = lookupType('envoy.config.route.v3.VirtualHost');
  const hosts = ['a', 'b'.repeat(300), 'c'].map((name) => ({ name, domains: [`${name}.local`] }));
  const head = Rc.encode(Rc.fromObject({ name: 'r', validate_clusters: { value: false } })).finish();
  const parts = hosts.map((h) => Vh.encode(Vh.fromObject(h)).finish());
  const body = { name: 'r', virtual_hosts: hosts, validate_clusters: { value: false } };
  const rc = new RepeatedResource(TypeUrl.RouteConfiguration, 'r', body, head, 2, parts, 'v1');
  const whole = Buffer.from(Rc.encode(Rc.fromObject(body)).finish());
  assert.deepEqual(Rc.toObject(Rc.decode(rc.encoded)), Rc.toObject(Rc.decode(whole)), 'decodes as the whole');
  const plain = { typeUrl: TypeUrl.RouteConfiguration, encoded: rc.encoded };
  const fromParts = framedSotw('1', TypeUrl.RouteConfiguration, [rc], 'n').framed.bytes;
  assert.deepEqual(fromParts, framedSotw('1', TypeUrl.RouteConfiguration, [plain], 'n').framed.bytes);
  assert.equal(rc.length, whole.length);
  const empty = new RepeatedResource(TypeUrl.RouteConfiguration, 'r', {}, head, 2, [], 'v0');
  assert.equal(empty.encoded.length, head.length);
  assert.equal(rc.encoded, rc.encoded, 'made once');
  assert.deepEqual(framedSotw('1', TypeUrl.RouteConfiguration, [rc], 'n').framed.bytes, fromParts);
});
