// The load client's own wire reading: DiscoveryResponses fed in pieces at every possible boundary, and its
// HTTP/2 + gRPC transport against a real grpc-js server (flow control both ways, HPACK with the server's
// dynamic table and Huffman strings, trailers-only errors, cancel, a lost connection).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { lookupType, TypeUrl } from '@keel/proto';
import { RawChannel, type RawStreamHandlers } from '../src/grpc-raw.js';
import { type DecodedResponse, edsNameOfCluster, ResponseReader, readResponse } from '../src/xds-names.js';

const Response = lookupType('envoy.service.discovery.v3.DiscoveryResponse');

function encoded(typeUrl: string, values: Buffer[]): Buffer {
  const message = Response.fromObject({
    version_info: 'v-1',
    resources: values.map((value) => ({ type_url: typeUrl, value })),
    canary: true,
    type_url: typeUrl,
    nonce: 'n-7',
    control_plane: { identifier: 'keel' },
  });
  return Buffer.from(Response.encode(message).finish());
}

function readInPieces(bytes: Buffer, size: number, keep: (t: string) => boolean): DecodedResponse {
  let got: DecodedResponse | undefined;
  // Resources are views of buffers reused after the callback: copied here.
  const reader = new ResponseReader(keep).start((r) => {
    got = { ...r, resources: r.resources.map((b) => Buffer.from(b)) };
  });
  // Each piece is copied into a reused buffer and overwritten after the call, as the socket's reads are.
  const scratch = Buffer.alloc(size);
  for (let at = 0; at < bytes.length; at += size) {
    const n = bytes.copy(scratch, 0, at, Math.min(bytes.length, at + size));
    reader.push(scratch.subarray(0, n));
    scratch.fill(0xee);
  }
  reader.end();
  assert.ok(got, 'the reader reported the message');
  return got;
}

test('ResponseReader: fields and kept resources are the same however the message is split', () => {
  // 300 bytes spans the 256-byte head in which the reader looks for the Any's type URL.
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
  for (const size of [1, 2, 3, 7, 16, 64, 255, 256, 257, 1000, bytes.length]) {
    const got = readInPieces(bytes, size, (t) => t === TypeUrl.Cluster);
    assert.equal(got.version_info, 'v-1', `pieces of ${size}`);
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
      `pieces of ${size}`,
    );
  }
  const skipped = readInPieces(encoded(TypeUrl.RouteConfiguration, values), 5, (t) => t === TypeUrl.Cluster);
  assert.equal(skipped.count, 4);
  assert.equal(skipped.nonce, 'n-7');
  assert.deepEqual(skipped.resources, [], 'bodies of other types are walked, not collected');
  const one = readResponse(bytes, () => true);
  assert.equal(one.resources.length, 4);
});

test('ResponseReader: resources past a slab and larger than one keep their bytes', () => {
  const values = [Buffer.alloc(600 * 1024, 3), Buffer.alloc(600 * 1024, 4), Buffer.alloc(1200 * 1024, 5)];
  for (let round = 0; round < 2; round++) {
    const got = readInPieces(encoded(TypeUrl.Listener, values), 64 * 1024, () => true);
    assert.equal(got.resources.length, 3);
    got.resources.forEach((r, i) => {
      const value = lookupType('google.protobuf.Any').decode(r) as unknown as { value: Uint8Array };
      assert.ok(Buffer.from(value.value).equals(values[i]!), `resource ${i}, round ${round}`);
    });
  }
});

test('edsNameOfCluster: the EDS service name (or the name) of EDS clusters only, whatever else the Cluster holds', () => {
  const Cluster = lookupType('envoy.config.cluster.v3.Cluster');
  const Any = lookupType('google.protobuf.Any');
  const any = (cluster: object) =>
    Buffer.from(
      Any.encode({
        type_url: TypeUrl.Cluster,
        value: Cluster.encode(Cluster.fromObject(cluster)).finish(),
      }).finish(),
    );
  const rich = {
    connect_timeout: { seconds: 1 },
    lb_policy: 'LEAST_REQUEST',
    circuit_breakers: { thresholds: [{ max_connections: { value: 100 } }] },
    metadata: { filter_metadata: { istio: { fields: { config: { string_value: 'x' } } } } },
    alt_stat_name: 'ünïcode',
  };
  const eds = { eds_config: { ads: {} } };
  assert.equal(
    edsNameOfCluster(
      any({
        name: 'outbound|80||a.default.svc.cluster.local',
        type: 'EDS',
        eds_cluster_config: { ...eds, service_name: 'outbound|80|v1|a' },
        ...rich,
      }),
    ),
    'outbound|80|v1|a',
  );
  assert.equal(
    edsNameOfCluster(
      any({ name: 'outbound|9080||ünï.ns.svc.cluster.local', type: 'EDS', eds_cluster_config: eds, ...rich }),
    ),
    'outbound|9080||ünï.ns.svc.cluster.local',
    'no service name: the cluster name',
  );
  assert.equal(edsNameOfCluster(any({ name: 'inbound|80||', type: 'STATIC', ...rich })), undefined);
  assert.equal(edsNameOfCluster(any({ name: 'BlackHoleCluster', type: 'STATIC' })), undefined);
  assert.equal(
    edsNameOfCluster(any({ name: 'PassthroughCluster', type: 'ORIGINAL_DST', ...rich })),
    undefined,
  );
  assert.throws(
    () => edsNameOfCluster(any({ name: 'x', type: 'EDS', ...rich }).subarray(0, 40)),
    /past the end/,
  );
});

test('ResponseReader: a message that ends inside a field is an error, not a response', () => {
  const bytes = encoded(TypeUrl.Cluster, [Buffer.alloc(40, 1)]);
  const reader = new ResponseReader(() => true).start(() => assert.fail('no response from a cut message'));
  reader.push(bytes.subarray(0, 30));
  assert.throws(() => reader.end(), /ends inside a field/);
});

// A raw-bytes bidi service; each test's handler decides what the calls answer.
const Echo = {
  Chat: {
    path: '/bench.test.Echo/Chat',
    requestStream: true,
    responseStream: true,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
} as unknown as grpc.ServiceDefinition;

async function serve(
  onCall: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => void,
): Promise<{ address: string; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(Echo, { Chat: onCall });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { address: `127.0.0.1:${port}`, server };
}

/** Collects a call's messages (copied: the views die with the read) and its end. */
function collector(): {
  handlers: RawStreamHandlers;
  messages: Buffer[];
  ended: Promise<string | undefined>;
  next: () => Promise<Buffer>;
} {
  const messages: Buffer[] = [];
  let waiting: ((b: Buffer) => void) | undefined;
  let resolveEnd!: (e: string | undefined) => void;
  const ended = new Promise<string | undefined>((r) => (resolveEnd = r));
  const handlers: RawStreamHandlers = {
    begin: (length) => {
      const out = Buffer.alloc(length);
      let have = 0;
      return {
        push: (b) => {
          have += b.copy(out, have);
        },
        end: () => {
          assert.equal(have, length);
          messages.push(out);
          const w = waiting;
          waiting = undefined;
          w?.(out);
        },
      };
    },
    onEnd: (e) => resolveEnd(e),
  };
  const next = () =>
    new Promise<Buffer>((resolve) => {
      waiting = resolve;
    });
  return { handlers, messages, ended, next };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('RawChannel: large messages both ways under flow control, many calls on one connection', {
  timeout: 30_000,
}, async () => {
  // Each reply is 3 MB of varied bytes (about 190 DATA frames) with the request's hash; requests are 300 KB,
  // past the server's 64 KB windows, so the client must wait for its WINDOW_UPDATEs. Our windows are 1 MB
  // here, so the replies go through only if the client gives the window back, per stream and connection.
  const { address, server } = await serve((call) => {
    call.on('data', (req: Buffer) => {
      const body = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < body.length; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
      call.write(Buffer.concat([Buffer.from(sha(req), 'hex'), body]));
    });
    call.on('end', () => call.end());
  });
  const channel = new RawChannel(address, 1024 * 1024);
  try {
    const calls = Array.from({ length: 6 }, () => collector());
    const raw = calls.map((c) => channel.call('/bench.test.Echo/Chat', c.handlers));
    const requests = calls.map((_, i) => Buffer.alloc(300 * 1024, i + 1));
    for (let round = 0; round < 2; round++) {
      const replies = calls.map((c) => c.next());
      for (const [i, r] of raw.entries()) r.write(requests[i]!);
      const got = await Promise.all(replies);
      got.forEach((reply, i) => {
        assert.equal(reply.length, 32 + 3 * 1024 * 1024);
        assert.equal(reply.subarray(0, 32).toString('hex'), sha(requests[i]!), `call ${i} round ${round}`);
        assert.equal(reply.readUInt32LE(32 + 4 * 1000), (4000 * 2654435761) >>> 0);
      });
    }
    for (const r of raw) r.cancel();
    assert.deepEqual(
      await Promise.all(calls.map((c) => c.ended)),
      calls.map(() => undefined),
    );
    assert.equal(channel.reconnects, 0);
  } finally {
    channel.close();
    server.forceShutdown();
  }
});

test('RawChannel: statuses from trailers and trailers-only responses, on later calls too (HPACK table)', {
  timeout: 30_000,
}, async () => {
  let n = 0;
  const { address, server } = await serve((call) => {
    n += 1;
    call.on('error', () => {});
    if (n % 2 === 1) {
      // Trailers-only: the status in the only header block, before any message.
      call.emit('error', { code: grpc.status.DEADLINE_EXCEEDED, details: 'xds send timeout' });
      return;
    }
    call.write(Buffer.from('hello'));
    call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'going away: 100% (ünïcode)' });
  });
  const channel = new RawChannel(address);
  try {
    for (let i = 0; i < 4; i++) {
      const c = collector();
      channel.call('/bench.test.Echo/Chat', c.handlers);
      const error = await c.ended;
      if (i % 2 === 0) assert.equal(error, 'DEADLINE_EXCEEDED: xds send timeout', `call ${i}`);
      else {
        assert.equal(error, 'UNAVAILABLE: going away: 100% (ünïcode)', `call ${i}`);
        assert.equal(c.messages[0]?.toString(), 'hello');
      }
    }
  } finally {
    channel.close();
    server.forceShutdown();
  }
});

test('RawChannel: a lost connection ends its calls, and the next call opens a new one', {
  timeout: 30_000,
}, async () => {
  const { address, server } = await serve((call) => {
    call.on('error', () => {});
    call.write(Buffer.from('up'));
  });
  const channel = new RawChannel(address);
  try {
    const c = collector();
    channel.call('/bench.test.Echo/Chat', c.handlers);
    assert.equal((await c.next()).toString(), 'up');
    server.forceShutdown();
    assert.match((await c.ended) ?? '', /UNAVAILABLE|RST_STREAM/);
    const again = await serve((call) => call.write(Buffer.from('again')));
    try {
      const other = new RawChannel(again.address);
      const d = collector();
      other.call('/bench.test.Echo/Chat', d.handlers);
      assert.equal((await d.next()).toString(), 'again');
      other.close();
    } finally {
      again.server.forceShutdown();
    }
    const e = collector();
    channel.call('/bench.test.Echo/Chat', e.handlers);
    assert.match((await e.ended) ?? '', /UNAVAILABLE/, 'the old address is gone: the new connection fails');
    assert.equal(channel.reconnects, 1);
  } finally {
    channel.close();
  }
});

test('RawChannel: a message its reader rejects ends that call with the reason, not the process', {
  timeout: 30_000,
}, async () => {
  const { address, server } = await serve((call) => {
    call.on('error', () => {});
    call.write(Buffer.from('bad'));
  });
  const channel = new RawChannel(address);
  try {
    let ended!: (e: string | undefined) => void;
    const error = new Promise<string | undefined>((r) => (ended = r));
    channel.call('/bench.test.Echo/Chat', {
      begin: () => ({
        push: () => {},
        end: () => {
          throw new Error('DiscoveryResponse: wire type 7 of field 0');
        },
      }),
      onEnd: (e) => ended(e),
    });
    assert.equal(await error, 'INTERNAL: DiscoveryResponse: wire type 7 of field 0');
  } finally {
    channel.close();
    server.forceShutdown();
  }
});
