// istio.mixer.v1.Mixer/Check with compressed attributes on the same engine, and malformed requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  DEFAULT_MANIFEST,
  encodeCompressed,
  MapBag,
  parseIp,
  valueFromText,
  WordTable,
} from '@keel/attributes';
import { serviceClient } from '@keel/proto';
import { outcome, PODS, type PodName, type PolicyMesh, startPolicyMesh } from './mesh.js';

function call(client: any, method: string, req: object): Promise<any> {
  return new Promise((resolve, reject) =>
    client[method](req, (e: Error | null, r: any) => (e ? reject(e) : resolve(r))),
  );
}

describe('Mixer v1 Check and malformed requests', () => {
  let mesh: PolicyMesh;
  let mixer: any;
  before(async () => {
    mesh = await startPolicyMesh(['mixer-rule-deny-label.yaml', 'mixer-rule-ratings-ratelimit.yaml']);
    const Client = serviceClient('istio.mixer.v1.Mixer');
    mixer = new Client(`127.0.0.1:${mesh.grpcPort}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    mixer?.close();
    await mesh?.stop();
  });

  /** The attributes an Istio 1.4 sidecar's mixer filter sent for an inbound request. */
  function mixerAttributes(from: PodName, to: PodName) {
    const src = PODS[from];
    const dst = PODS[to];
    const bag = new MapBag();
    for (const [k, v] of Object.entries(mesh.extensions(to)))
      bag.set(k, valueFromText(v, DEFAULT_MANIFEST.get(k))!);
    bag.set('source.ip', parseIp(src.ip)!);
    bag.set('source.principal', `cluster.local/ns/${src.ns}/sa/${src.sa}`);
    bag.set('source.user', `cluster.local/ns/${src.ns}/sa/${src.sa}`);
    bag.set(
      'request.headers',
      new Map([
        [':path', '/ratings/0'],
        [':method', 'GET'],
        ['x-request-id', 'abc'],
      ]),
    );
    bag.set('request.method', 'GET');
    bag.set('request.path', '/ratings/0');
    bag.set('context.protocol', 'http');
    bag.set('destination.ip', parseIp(dst.ip)!);
    return encodeCompressed(bag, new WordTable(), DEFAULT_MANIFEST);
  }

  it('gives the same precondition as ext_authz, with global and message words', async () => {
    const attrs = mixerAttributes('reviewsV3', 'ratings');
    assert.ok((attrs.words ?? []).includes('kubernetes://ratings-v1-local.default'), 'message words in use');
    assert.ok(Object.keys(attrs.strings ?? {}).includes('19'), 'global word request.method (19)');
    const r = await call(mixer, 'Check', {
      attributes: attrs,
      global_word_count: 222,
      deduplication_id: 'd1',
    });
    const viaExtAuthz = outcome(await mesh.check('reviewsV3', 'ratings'));
    assert.equal(r.precondition.status.code, viaExtAuthz.grpc);
    assert.equal(`PERMISSION_DENIED:${r.precondition.status.message}`, viaExtAuthz.body);
    assert.equal(r.precondition.valid_use_count, 1000);
    assert.equal(Number(r.precondition.valid_duration.seconds), 5);
    const words = r.precondition.referenced_attributes.words as string[];
    assert.ok(r.precondition.referenced_attributes.attribute_matches.length >= 3);
    assert.ok(words.includes('app') || words.includes('version'), 'map keys referenced by word');
  });

  it('allows what ext_authz allows and answers requested quotas', async () => {
    const attrs = mixerAttributes('reviewsV1', 'ratings');
    const ask = { requestcountquota: { amount: 1, best_effort: false } };
    const first = await call(mixer, 'Check', {
      attributes: attrs,
      global_word_count: 222,
      deduplication_id: 'q1',
      quotas: ask,
    });
    assert.equal(first.precondition.status?.code ?? 0, 0);
    assert.equal(Number(first.quotas.requestcountquota.granted_amount), 1);
    const second = await call(mixer, 'Check', {
      attributes: attrs,
      global_word_count: 222,
      deduplication_id: 'q2',
      quotas: ask,
    });
    assert.equal(Number(second.quotas.requestcountquota.granted_amount ?? 0), 0, 'one per second');
    const dup = await call(mixer, 'Check', {
      attributes: attrs,
      global_word_count: 222,
      deduplication_id: 'q1',
      quotas: ask,
    });
    assert.equal(
      Number(dup.quotas.requestcountquota.granted_amount),
      1,
      'deduplicated retry gets the same grant',
    );
  });

  it('a newer global dictionary is INTERNAL, a bad word index INVALID_ARGUMENT', async () => {
    await assert.rejects(call(mixer, 'Check', { attributes: {}, global_word_count: 300 }), (e: any) => {
      assert.equal(e.code, grpc.status.INTERNAL);
      assert.match(e.details, /inconsistent global dictionary versions/);
      return true;
    });
    await assert.rejects(
      call(mixer, 'Check', { attributes: { words: ['x'], strings: { '-5': 0 } } }),
      (e: any) => {
        assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
        assert.match(e.details, /message word index -5 out of range/);
        return true;
      },
    );
  });

  it('malformed ext_authz CheckRequests get INVALID_ARGUMENT naming the problem, and the server keeps serving', async () => {
    const bad = async (req: object, re: RegExp) =>
      assert.rejects(call(mesh.client, 'Check', req), (e: any) => {
        assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
        assert.match(e.details, re);
        return true;
      });
    await bad({}, /CheckRequest.attributes is required/);
    await bad(
      { attributes: { context_extensions: { 'destination.port': 'eighty' } } },
      /context_extensions\[destination.port\]: "eighty" is not a valid INT64/,
    );
    const headers = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`x-h${i}`, 'v']));
    await bad({ attributes: { request: { http: { headers } } } }, /more than 256 request headers/);
    assert.equal(outcome(await mesh.check('reviewsV1', 'details')).http, 200);
  });
});
