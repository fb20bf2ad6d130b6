import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lookupType } from '@keel/proto';
import {
  bagToJson,
  DEFAULT_MANIFEST,
  Duration,
  decodeCompressed,
  decodeReport,
  encodeCompressed,
  encodeReport,
  GLOBAL_WORD_COUNT,
  GLOBAL_WORDS,
  globalWordIndex,
  MapBag,
  ReferencedAttributes,
  referencedToProto,
  referenceSignature,
  valueFromText,
} from '../src/index.js';

const CA = 'istio.mixer.v1.CompressedAttributes';

/** Encode -> protobuf bytes -> decode, as it travels. */
function wire(msg: object): any {
  const T = lookupType(CA);
  const err = T.verify(msg);
  assert.equal(err, null, String(err));
  return T.toObject(T.decode(T.encode(T.fromObject(msg)).finish()), { longs: String, defaults: false });
}

describe('global dictionary', () => {
  it('has the 222 words of Istio 1.4.10 in order', () => {
    assert.equal(GLOBAL_WORD_COUNT, 222);
    assert.equal(GLOBAL_WORDS[0], 'source.ip');
    assert.equal(GLOBAL_WORDS[31], ':authority');
    assert.equal(GLOBAL_WORDS[94], '200');
    assert.equal(GLOBAL_WORDS[108], 'text/html; charset=utf-8');
    assert.equal(GLOBAL_WORDS[115], 'gzip, deflate');
    assert.equal(GLOBAL_WORDS[134], '0');
    assert.equal(GLOBAL_WORDS[136], '200');
    assert.equal(GLOBAL_WORDS[150], 'destination.ip');
    assert.equal(GLOBAL_WORDS[193], 'destination.service.host');
    assert.equal(GLOBAL_WORDS[203], 'request.url_path');
    assert.equal(GLOBAL_WORDS[218], '-');
    assert.equal(GLOBAL_WORDS[221], 'context.proxy_version');
    assert.equal(globalWordIndex('200'), 94);
  });
});

describe('CompressedAttributes', () => {
  const bag = new MapBag({
    'source.uid': 'kubernetes://reviews-v3-1.default',
    'request.method': 'GET',
    'request.headers': new Map([
      [':path', '/ratings/0'],
      ['x-custom', 'v'],
    ]),
    'destination.port': 9080,
    'source.ip': new Uint8Array([10, 0, 0, 7]),
    'connection.mtls': true,
    'request.time': new Date('2026-03-01T10:00:00.250Z'),
    'response.duration': new Duration(12.5),
    'keel.ratio': 0.25,
  });

  it('round-trips a bag through the wire with global and message words', () => {
    const msg = encodeCompressed(bag, undefined, DEFAULT_MANIFEST);
    // Global words are used where the dictionary has them: request.method (19) -> GET (90).
    assert.equal((msg.strings as any)['19'], 90);
    assert.ok(msg.words!.includes('kubernetes://reviews-v3-1.default'));
    assert.ok(!msg.words!.includes('GET'));
    const back = decodeCompressed(wire(msg));
    assert.ok(back.ok, back.ok ? '' : back.errors);
    assert.deepEqual(bagToJson(back.value), bagToJson(bag));
    assert.equal((back.value.get('response.duration') as Duration).ms, 12.5);
  });

  it('decodes a hand-built message: -1 is words[0], string map keys and values are words', () => {
    const msg = {
      words: ['reviews', 'x-user', 'john'],
      strings: { '2': -1, '19': 90 },
      int64s: { '151': 9080 },
      string_maps: { '15': { entries: { '-2': -3, '33': -1 } } },
    };
    const r = decodeCompressed(wire(msg), 222);
    assert.ok(r.ok, r.ok ? '' : r.errors);
    assert.equal(r.value.get('source.name'), 'reviews');
    assert.equal(r.value.get('request.method'), 'GET');
    assert.equal(r.value.get('destination.port'), 9080);
    assert.deepEqual(Object.fromEntries(r.value.get('request.headers') as Map<string, string>), {
      'x-user': 'john',
      ':path': 'reviews',
    });
  });

  it('rejects bad indexes and a newer dictionary', () => {
    const bad = decodeCompressed({ words: ['a'], strings: { '-2': 0 } });
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.match(bad.errors, /message word index -2 out of range \(1 words\)/);
    const big = decodeCompressed({ strings: { '500': 0 } });
    assert.equal(big.ok, false);
    if (!big.ok) assert.match(big.errors, /global word index 500 out of range/);
    const newer = decodeCompressed({}, 300);
    assert.equal(newer.ok, false);
    if (!newer.ok) assert.match(newer.errors, /inconsistent global dictionary versions/);
    const limited = decodeCompressed({ strings: { '150': 0 } }, 100);
    assert.equal(limited.ok, false);
  });

  it('delta-encodes report batches and decodes them back', () => {
    const b1 = new MapBag({ 'request.method': 'GET', 'response.code': 200, 'source.name': 'a' });
    const b2 = new MapBag({ 'request.method': 'GET', 'response.code': 503, 'source.name': 'a' });
    const b3 = new MapBag({
      'request.method': 'POST',
      'response.code': 503,
      'source.name': 'a',
      'api.service': 's',
    });
    const b4 = new MapBag({ 'request.method': 'GET' }); // drops attributes: a new request
    const reqs = encodeReport([b1, b2, b3, b4], DEFAULT_MANIFEST);
    assert.equal(reqs.length, 2);
    assert.equal(reqs[0]!.attributes.length, 3);
    assert.deepEqual(Object.keys(reqs[0]!.attributes[1]!.int64s!), ['30']);
    assert.deepEqual(reqs[0]!.attributes[1]!.strings, {});
    const T = lookupType('istio.mixer.v1.ReportRequest');
    const decoded = reqs.flatMap((req) => {
      const obj = T.toObject(T.decode(T.encode(T.fromObject(req)).finish()), {
        longs: String,
        enums: String,
      });
      const r = decodeReport(obj);
      assert.ok(r.ok, r.ok ? '' : r.errors);
      return r.value;
    });
    assert.deepEqual(decoded.map(bagToJson), [b1, b2, b3, b4].map(bagToJson));
  });

  it('independent encoding does not accumulate', () => {
    const r = decodeReport({
      repeated_attributes_semantics: 'INDEPENDENT_ENCODING',
      attributes: [{ strings: { '19': 90 } }, { int64s: { '30': 200 } }],
    });
    assert.ok(r.ok);
    assert.deepEqual(r.value.map(bagToJson), [{ 'request.method': 'GET' }, { 'response.code': 200 }]);
  });
});

describe('referenced attributes', () => {
  it('become proto matches and cache signatures', () => {
    const refs = new ReferencedAttributes();
    refs.attr('source.name', true);
    refs.attr('keel.absent', false);
    refs.mapKey('request.headers', 'x-user', true);
    const p = referencedToProto(refs);
    assert.deepEqual(p.words, ['keel.absent', 'x-user']);
    assert.deepEqual(p.attribute_matches, [
      { name: 2, condition: 'EXACT' },
      { name: -1, condition: 'ABSENCE' },
      { name: 15, condition: 'EXACT', map_key: -2 },
    ]);
    const shape = refs.shape();
    const a = new MapBag({
      'source.name': 'x',
      'request.headers': new Map([
        ['x-user', 'j'],
        ['other', '1'],
      ]),
    });
    const b = new MapBag({
      'source.name': 'x',
      'request.headers': new Map([
        ['x-user', 'j'],
        ['other', '2'],
      ]),
    });
    const c = new MapBag({ 'source.name': 'x', 'request.headers': new Map([['x-user', 'k']]) });
    const d = new MapBag({
      'source.name': 'x',
      'keel.absent': 'now',
      'request.headers': new Map([['x-user', 'j']]),
    });
    assert.equal(referenceSignature(shape, a), referenceSignature(shape, b));
    assert.notEqual(referenceSignature(shape, a), referenceSignature(shape, c));
    assert.notEqual(referenceSignature(shape, a), referenceSignature(shape, d));
  });

  it('converts text to manifest types', () => {
    assert.equal(valueFromText('9080', 'INT64'), 9080);
    assert.equal(valueFromText('90x', 'INT64'), undefined);
    assert.deepEqual(valueFromText('10.1.2.3', 'IP_ADDRESS'), new Uint8Array([10, 1, 2, 3]));
    assert.equal(valueFromText('true', 'BOOL'), true);
    assert.equal((valueFromText('1.5s', 'DURATION') as Duration).ms, 1500);
  });
});

describe('istio.mixer.v1 protos', () => {
  it('load through libs/proto with the Check and Report methods', async () => {
    const { serviceDefinition } = await import('@keel/proto');
    const def = serviceDefinition('istio.mixer.v1.Mixer');
    assert.deepEqual(Object.keys(def).sort(), ['Check', 'Report']);
    assert.equal(def.Check!.path, '/istio.mixer.v1.Mixer/Check');
  });
});
