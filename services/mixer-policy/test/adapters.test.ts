import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MapBag, parseIp, ReferencedAttributes } from '@keel/attributes';
import { silentLogger } from '@keel/runtime';
import type { AdapterEnv, CheckInstance, Handler, QuotaInstance } from '../src/adapters/types.js';
import { ADAPTERS, DecisionCache, fixedWindow, rollingWindow } from '../src/index.js';

let clock = 1_000_000;
const env: AdapterEnv = {
  handlerName: 'h.handler.ns',
  logger: silentLogger,
  bus: () => undefined,
  now: () => clock,
};

function build(adapter: string, params: object): Handler {
  const r = ADAPTERS.get(adapter)!.build(params as Record<string, unknown>, env);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('; '));
  return r.value;
}
const entry = (value: string | Uint8Array): CheckInstance => ({ template: 'listentry', name: 'e', value });
const check = async (h: Handler, v: string | Uint8Array) => {
  const r = await h.check!([entry(v)]);
  return r.code === 0 ? 'OK' : `${r.code}:${r.message}`;
};

describe('denier', () => {
  it('defaults to FAILED_PRECONDITION for 5 s / 1000 uses; takes codes by number or name', async () => {
    assert.deepEqual(await build('denier', {}).check!([]), {
      code: 9,
      message: '',
      validDurationMs: 5000,
      validUseCount: 1000,
    });
    const h = build('denier', {
      status: { code: 'UNAUTHENTICATED', message: 'who?' },
      validDuration: '2s',
      validUseCount: 3,
    });
    assert.deepEqual(await h.check!([]), {
      code: 16,
      message: 'who?',
      validDurationMs: 2000,
      validUseCount: 3,
    });
    const bad = ADAPTERS.get('denier')!.build({ status: { code: 'NOPE' } }, env);
    assert.equal(bad.ok, false);
  });
});

describe('listchecker', () => {
  it('STRINGS whitelist and blacklist', async () => {
    const wl = build('listchecker', { overrides: ['v1', 'v2'] });
    assert.equal(await check(wl, 'v1'), 'OK');
    assert.equal(await check(wl, 'v3'), '7:v3 is not whitelisted');
    const bl = build('listchecker', { overrides: ['v1'], blacklist: true });
    assert.equal(await check(bl, 'v1'), '7:v1 is blacklisted');
    assert.equal(await check(bl, 'V1'), 'OK');
  });

  it('CASE_INSENSITIVE_STRINGS', async () => {
    const h = build('listchecker', { overrides: ['Alice'], entryType: 'CASE_INSENSITIVE_STRINGS' });
    assert.equal(await check(h, 'aLiCe'), 'OK');
    assert.equal(await check(h, 'bob'), '7:bob is not whitelisted');
  });

  it('IP_ADDRESSES with CIDR ranges (v4, v6, single addresses), invalid values INVALID_ARGUMENT', async () => {
    const h = build('listchecker', {
      overrides: ['10.57.0.0/16', 'fd00::/8', '192.168.1.1'],
      entryType: 'IP_ADDRESSES',
    });
    assert.equal(await check(h, parseIp('10.57.200.1')!), 'OK');
    assert.equal(await check(h, '10.58.0.1'), '7:10.58.0.1 is not whitelisted');
    assert.equal(await check(h, 'fd12::1'), 'OK');
    assert.equal(await check(h, '::ffff:10.57.1.1'), 'OK');
    assert.equal(await check(h, '192.168.1.1'), 'OK');
    assert.equal(await check(h, '192.168.1.2'), '7:192.168.1.2 is not whitelisted');
    assert.equal(await check(h, 'not-an-ip'), '3:not-an-ip is not a valid IP address');
    const bad = ADAPTERS.get('listchecker')!.build(
      { overrides: ['10.0.0.0/33'], entryType: 'IP_ADDRESSES' },
      env,
    );
    assert.deepEqual(bad.ok ? [] : bad.errors, [
      'overrides: "10.0.0.0/33" is not an IP address or CIDR range',
    ]);
  });

  it('REGEX', async () => {
    const h = build('listchecker', {
      overrides: ['^/admin', 'secret$'],
      entryType: 'REGEX',
      blacklist: true,
    });
    assert.equal(await check(h, '/admin/users'), '7:/admin/users is blacklisted');
    assert.equal(await check(h, '/top-secret'), '7:/top-secret is blacklisted');
    assert.equal(await check(h, '/public'), 'OK');
    const bad = ADAPTERS.get('listchecker')!.build({ overrides: ['('], entryType: 'REGEX' }, env);
    assert.equal(bad.ok, false);
  });

  describe('provider_url', () => {
    let server: Server;
    let reply: { status: number; body: string };
    let url: string;
    before(async () => {
      server = createServer((_req, res) => {
        res.statusCode = reply.status;
        res.end(reply.body);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/list`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it('loads the list, keeps the last good one when a refresh fails, takes the next good one', async () => {
      reply = { status: 200, body: '# users\nalice\n\nbob\n' };
      const h = build('listchecker', { providerUrl: url, refreshInterval: '1h' }) as Handler & {
        refresh(): Promise<void>;
      };
      await h.refresh();
      assert.equal(await check(h, 'bob'), 'OK');
      assert.equal(await check(h, 'carol'), '7:carol is not whitelisted');
      reply = { status: 503, body: 'down' };
      await h.refresh();
      assert.equal(await check(h, 'bob'), 'OK', 'last good list kept');
      assert.match(JSON.stringify(h.debug!()), /HTTP 503/);
      reply = { status: 200, body: 'carol' };
      await h.refresh();
      assert.equal(await check(h, 'carol'), 'OK');
      assert.equal(await check(h, 'bob'), '7:bob is not whitelisted');
      h.close!();
    });
  });
});

describe('memquota', () => {
  const q = (dims: Record<string, string>): QuotaInstance => ({
    template: 'quota',
    name: 'rq.instance.istio-system',
    dimensions: dims,
  });
  const plan = {
    quotas: [
      {
        name: 'rq.instance.istio-system',
        maxAmount: 5,
        validDuration: '1s',
        overrides: [
          { dimensions: { destination: 'ratings', source: 'reviews' }, maxAmount: 1 },
          { dimensions: { destination: 'ratings' }, maxAmount: 2, validDuration: '5s' },
        ],
      },
    ],
  };
  const args = (amount = 1, dedupId = '', bestEffort = false) => ({ amount, dedupId, bestEffort });

  it('first matching override wins; the window rolls in 100 ms ticks', async () => {
    clock = 5_000_000;
    const h = build('memquota', plan);
    const g = async (d: Record<string, string>) => (await h.quota!(q(d), args())).granted;
    assert.equal(await g({ destination: 'ratings', source: 'reviews' }), 1);
    assert.equal(await g({ destination: 'ratings', source: 'reviews' }), 0);
    assert.equal(await g({ destination: 'ratings', source: 'productpage' }), 1);
    assert.equal(await g({ destination: 'ratings', source: 'productpage' }), 1);
    assert.equal(await g({ destination: 'ratings', source: 'productpage' }), 0, '2 per 5 s');
    clock += 1000;
    assert.equal(await g({ destination: 'ratings', source: 'reviews' }), 1, 'the 1 s window rolled');
    assert.equal(await g({ destination: 'ratings', source: 'productpage' }), 0, 'still inside 5 s');
    clock += 4100;
    assert.equal(await g({ destination: 'ratings', source: 'productpage' }), 1);
  });

  it('best effort grants the remainder, negative amounts free quota, dedup ids repeat answers', async () => {
    clock = 9_000_000;
    const h = build('memquota', plan);
    const d = { destination: 'details' };
    assert.equal((await h.quota!(q(d), args(3))).granted, 3);
    assert.equal((await h.quota!(q(d), args(3))).granted, 0);
    assert.equal((await h.quota!(q(d), args(3, '', true))).granted, 2);
    assert.equal((await h.quota!(q(d), args(-2))).granted, 0);
    assert.equal((await h.quota!(q(d), args(2, 'dup-1'))).granted, 2);
    assert.equal((await h.quota!(q(d), args(2, 'dup-1'))).granted, 2, 'same answer for a retried dedup id');
    assert.equal((await h.quota!(q(d), args(1, 'dup-2'))).granted, 0);
  });

  it('validDuration 0 never expires', async () => {
    const h = build('memquota', { quotas: [{ name: 'rq.instance.istio-system', maxAmount: 1 }] });
    assert.equal((await h.quota!(q({}), args())).granted, 1);
    clock += 3_600_000;
    assert.equal((await h.quota!(q({}), args())).granted, 0);
  });
});

describe('redisquota algorithms (as used on NATS KV)', () => {
  const fixed = { maxAmount: 2, windowMs: 1000, bucketMs: 0, algorithm: 'FIXED_WINDOW' as const };
  const rolling = { maxAmount: 2, windowMs: 1000, bucketMs: 250, algorithm: 'ROLLING_WINDOW' as const };
  const a = { amount: 1, dedupId: '', bestEffort: false };
  it('FIXED_WINDOW resets at the window boundary', () => {
    let s = fixedWindow(undefined, fixed, a, 10_100);
    assert.equal(s.granted, 1);
    s = fixedWindow(s.next, fixed, a, 10_500);
    assert.equal(s.granted, 1);
    assert.equal(fixedWindow(s.next, fixed, a, 10_999).granted, 0);
    assert.equal(fixedWindow(s.next, fixed, a, 11_000).granted, 1);
  });
  it('ROLLING_WINDOW counts the buckets younger than the window', () => {
    let s = rollingWindow(undefined, rolling, a, 10_100);
    s = rollingWindow(s.next, rolling, a, 10_600);
    assert.equal(rollingWindow(s.next, rolling, a, 10_990).granted, 0, 'both still in the window');
    const later = rollingWindow(s.next, rolling, a, 11_050);
    assert.equal(later.granted, 1, 'the 10_000 bucket left the window');
    assert.deepEqual(
      later.next.b.map(([start]) => start),
      [10_500, 11_000],
    );
  });
});

describe('rbac', () => {
  it('allows what a binding grants, denies the rest', async () => {
    const view = {
      roles: [
        {
          namespace: 'default',
          name: 'viewer',
          spec: { rules: [{ services: ['ratings.*'], methods: ['GET'], paths: ['/ratings*'] }] },
        },
      ],
      bindings: [
        {
          namespace: 'default',
          name: 'b',
          spec: {
            subjects: [{ user: 'cluster.local/ns/default/sa/bookinfo-reviews' }],
            roleRef: { kind: 'ServiceRole', name: 'viewer' },
          },
        },
      ],
    };
    const r = ADAPTERS.get('rbac')!.build({}, { ...env, rbac: () => view });
    assert.ok(r.ok);
    const inst = (user: string, method: string): CheckInstance => ({
      template: 'authorization',
      name: 'a',
      subject: { user, groups: '', properties: {} },
      action: {
        namespace: 'default',
        service: 'ratings.default.svc.cluster.local',
        method,
        path: '/ratings/0',
        properties: {},
      },
    });
    assert.equal(
      (await r.value.check!([inst('cluster.local/ns/default/sa/bookinfo-reviews', 'GET')])).code,
      0,
    );
    const denied = await r.value.check!([inst('cluster.local/ns/default/sa/bookinfo-reviews', 'POST')]);
    assert.deepEqual([denied.code, denied.message], [7, 'RBAC: permission denied.']);
    assert.equal((await r.value.check!([inst('cluster.local/ns/default/sa/other', 'GET')])).code, 7);
  });
});

describe('decision cache', () => {
  it('is keyed by referenced attributes and honours valid duration and use count', () => {
    const cache = new DecisionCache<string>();
    const refs = new ReferencedAttributes();
    refs.attr('source.name', true);
    refs.mapKey('request.headers', 'x-user', false);
    const bag = (name: string, other: string, user?: string) =>
      new MapBag({
        'source.name': name,
        'source.uid': other,
        'request.headers': new Map(user ? [['x-user', user]] : []),
      });
    cache.set(bag('a', 'u1'), refs, 'deny', 1000, 2, 0);
    assert.equal(cache.get(bag('a', 'u2'), 10), 'deny', 'unreferenced attribute ignored');
    assert.equal(cache.get(bag('a', 'u3', 'john'), 10), undefined, 'referenced map key now present');
    assert.equal(cache.get(bag('b', 'u1'), 10), undefined, 'referenced value differs');
    assert.equal(cache.get(bag('a', 'u1'), 20), 'deny');
    assert.equal(cache.get(bag('a', 'u1'), 30), undefined, 'use count exhausted');
    cache.set(bag('a', 'u1'), refs, 'deny', 1000, 100, 0);
    assert.equal(cache.get(bag('a', 'u1'), 999), 'deny');
    assert.equal(cache.get(bag('a', 'u1'), 1000), undefined, 'expired');
    assert.deepEqual(cache.stats, { hits: 3, misses: 4, writes: 2, evictions: 2 });
  });
});
