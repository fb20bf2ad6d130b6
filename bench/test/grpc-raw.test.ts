// The load client's own wire reading: DiscoveryResponses split across chunks at every possible boundary.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lookupType, TypeUrl } from '@keel/proto';
import type { Chunks } from '../src/grpc-raw.js';
import { readResponse } from '../src/xds-names.js';

const Response = lookupType('envoy.service.discovery.v3.DiscoveryResponse');

function encoded(typeUrl: string, values: Buffer[]): Buffer {
  const message = Response.fromObject({
    version_info: 'v-1',
    resources: values.map((value) => ({ type_url: typeUrl, value })),
    type_url: typeUrl,
    nonce: 'n-7',
  });
  return Buffer.from(Response.encode(message).finish());
}

const split = (bytes: Buffer, size: number): Chunks => {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(bytes.subarray(at, at + size));
  return { parts, length: bytes.length };
};

test('readResponse: fields and resources are the same however the message is chunked', () => {
  const values = [Buffer.alloc(300, 1), Buffer.alloc(5, 2), Buffer.alloc(0), Buffer.from('xyz')];
  const bytes = encoded(TypeUrl.Cluster, values);
  const whole = Response.toObject(Response.decode(bytes), { defaults: false }) as {
    resources: Array<unknown>;
  };
  const anys = whole.resources.map((r) =>
    Buffer.from(
      lookupType('google.protobuf.Any')
        .encode(r as object)
        .finish(),
    ),
  );
  for (const size of [1, 2, 3, 7, 16, 64, 1000, bytes.length]) {
    const got = readResponse(split(bytes, size), () => true);
    assert.equal(got.version_info, 'v-1', `chunks of ${size}`);
    assert.equal(got.type_url, TypeUrl.Cluster);
    assert.equal(got.nonce, 'n-7');
    assert.equal(got.count, 4);
    assert.equal(
      got.resourceBytes,
      anys.reduce((n, a) => n + a.length, 0),
    );
    assert.deepEqual(
      got.resources.map((r) => Buffer.from(r).toString('hex')),
      anys.map((a) => a.toString('hex')),
      `chunks of ${size}`,
    );
  }
  const skipped = readResponse(split(encoded(TypeUrl.RouteConfiguration, values), 5), () => false);
  assert.equal(skipped.count, 4);
  assert.deepEqual(skipped.resources, [], 'bodies of other types are walked, not collected');
});
