import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AttributeValue,
  compileExpression,
  DEFAULT_MANIFEST,
  Duration,
  formatIp,
  MapBag,
  parseExpression,
  ReferencedAttributes,
} from '../src/index.js';

const bag = new MapBag({
  'source.labels': new Map([
    ['app', 'reviews'],
    ['version', 'v3'],
  ]),
  'destination.labels': new Map([['app', 'ratings']]),
  'request.headers': new Map([
    ['x-user', 'john'],
    ['user-agent', 'kube-probe/1.15'],
    [':path', '/productpage'],
  ]),
  'source.user': 'cluster.local/ns/default/sa/bookinfo-productpage',
  'source.ip': new Uint8Array([10, 57, 3, 4]),
  'destination.service.name': 'ratings',
  'destination.service.host': 'ratings.default.svc.cluster.local',
  'destination.port': 9080,
  'request.size': 120,
  'response.code': 200,
  'response.duration': new Duration(15),
  'request.time': new Date('2026-01-02T03:04:05Z'),
  'connection.mtls': true,
  'context.protocol': 'http',
  'request.path': '/api/v1/products?x=1',
  'request.host': 'Bookinfo.Example.COM',
  'request.useragent': 'Mozilla/5.0',
});

type Want = AttributeValue | { error: RegExp } | { type: RegExp };

/** [expression, expected value | evaluation error | type-check error with position]. */
const CASES: [string, Want][] = [
  // literals
  ['"abc"', 'abc'],
  ['`raw\\d`', 'raw\\d'],
  ['"tab\\tnl\\n"', 'tab\tnl\n'],
  ['"\\u00e9"', 'é'],
  ['42', 42],
  ['-7', -7],
  ['0x1F', 31],
  ['3.5', 3.5],
  ['-2.25', -2.25],
  ['true', true],
  ['false', false],
  ['!true', false],
  // attributes
  ['source.user', 'cluster.local/ns/default/sa/bookinfo-productpage'],
  ['destination.port', 9080],
  ['connection.mtls', true],
  ['request.size', 120],
  ['context.reporter.kind', { error: /lookup failed: 'context.reporter.kind'/ }],
  ['context.reporter.kind | "inbound"', 'inbound'],
  ['api.protocol | context.protocol | "unknown"', 'http'],
  ['api.protocol | api.service | "unknown"', 'unknown'],
  // map index
  ['source.labels["app"]', 'reviews'],
  ['source.labels["missing"]', { error: /lookup failed: 'source.labels\[missing\]'/ }],
  ['source.labels["missing"] | "dflt"', 'dflt'],
  ['destination.metadata["x"] | "none"', 'none'],
  ['request.headers["x-user"]', 'john'],
  ['(request.headers["x-user"] | "") == "john"', true],
  ['(request.headers["x-other"] | "") == "john"', false],
  ['request.headers["x-user"] | "" == "john"', true],
  ['destination.labels["app"] | destination.service.name', 'ratings'],
  ['source.labels["ap" + "p"]', 'reviews'],
  ['(source.labels | emptyStringMap())["version"]', 'v3'],
  ['(destination.metadata | emptyStringMap())["k"] | "x"', 'x'],
  [
    'destination.labels["app"]=="ratings" && source.labels["app"]=="reviews" && source.labels["version"]=="v3"',
    true,
  ],
  ['destination.labels["app"]=="ratings" && source.labels["version"]=="v2"', false],
  // comparison and logic
  ['1 == 1', true],
  ['1 != 1', false],
  ['2 < 3', true],
  ['3 <= 3', true],
  ['4 > 5', false],
  ['5 >= 5', true],
  ['2.5 < 2.75', true],
  ['"a" < "b"', true],
  ['request.size > 100', true],
  ['response.code == 200', true],
  ['response.code != 200 || request.size >= 120', true],
  ['true && false', false],
  ['true || false', true],
  ['!(1 == 2)', true],
  ['!connection.mtls', false],
  ['false && context.reporter.kind == "x"', false],
  ['true || context.reporter.kind == "x"', true],
  ['true && context.reporter.kind == "x"', { error: /lookup failed/ }],
  ['response.duration < "1s"', true],
  ['response.duration == "15ms"', true],
  ['response.duration | "0ms"', new Duration(15)],
  ['connection.duration | "10ms"', new Duration(10)],
  ['request.time < timestamp("2027-01-01T00:00:00Z")', true],
  // arithmetic and concatenation
  ['1 + 2', 3],
  ['1.5 + 2.25', 3.75],
  ['"a" + "b" + "c"', 'abc'],
  ['request.size + 5', 125],
  ['source.labels["app"] + "-" + source.labels["version"]', 'reviews-v3'],
  ['request.size + 5 == 125', true],
  // conditional
  ['conditional(true, "a", "b")', 'a'],
  ['conditional(false, "a", "b")', 'b'],
  ['conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")', 'destination'],
  ['conditional(connection.mtls | false, "mutual_tls", "none")', 'mutual_tls'],
  ['conditional(true, 1, 2)', 1],
  ['conditional(false, "x", context.reporter.kind)', { error: /lookup failed/ }],
  ['conditional(true, "x", context.reporter.kind)', 'x'],
  ['conditional(false, response.duration, "1s")', new Duration(1000)],
  ['conditionalString(false, "a", "b")', 'b'],
  [
    'destination.service.host | conditional((destination.service.name | "unknown") == "unknown", "unknown", request.host)',
    'ratings.default.svc.cluster.local',
  ],
  // match, regex, startsWith, endsWith
  ['match("kube-probe/1.15", "kube-probe*")', true],
  ['match((request.useragent | "-"), "kube-probe*") == false', true],
  ['match("ratings.default.svc", "*.svc")', true],
  ['match("abc", "abc")', true],
  ['match("abcd", "abc")', false],
  ['match(request.headers["user-agent"], "kube-probe*")', true],
  ['"^/api/v[0-9]+/".matches(request.path)', true],
  ['"^/api/v[0-9]+$".matches(request.path)', false],
  ['"(?i)bookinfo".matches(request.host)', true],
  ['"prod".matches(request.headers[":path"])', true],
  ['request.path.startsWith("/api")', true],
  ['request.path.endsWith("x=1")', true],
  ['request.path.startsWith("/nope")', false],
  ['source.labels["app"].startsWith("rev")', true],
  // ip and CIDR-style checks
  ['source.ip == ip("10.57.3.4")', true],
  ['ip_equal(source.ip, ip("10.57.3.4"))', true],
  ['ip_equal(source.ip, ip("10.57.3.5"))', false],
  ['source.ip | ip("0.0.0.0")', new Uint8Array([10, 57, 3, 4])],
  ['destination.ip | ip("0.0.0.0")', new Uint8Array([0, 0, 0, 0])],
  ['ip("::ffff:10.57.3.4") == source.ip', true],
  ['origin.ip | ip("fd00::1")', new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])],
  // string functions
  ['size("hello")', 5],
  ['size("é")', 2],
  ['size(source.user) > 10', true],
  ['toLower(request.host)', 'bookinfo.example.com'],
  ['reverse("abc")', 'cba'],
  ['reverse(source.labels["app"])', 'sweiver'],
  // constructors and typed equality
  ['dnsName("Ratings.Default.") == dnsName("ratings.default")', true],
  ['dnsName_equal(dnsName("a.b"), dnsName("A.B"))', true],
  ['email("Joe@Example.com") == email("Joe@example.COM")', true],
  ['email_equal(email("joe@x.com"), email("JOE@x.com"))', false],
  ['uri("http://Example.com/a") == uri("http://example.com/a")', true],
  ['uri_equal(uri("http://a/b"), uri("http://a/c"))', false],
  ['timestamp_lt(request.time, timestamp("2026-01-02T03:04:06Z"))', true],
  ['timestamp_gt(request.time, timestamp("2026-01-02T03:04:06Z"))', false],
  ['timestamp_le(request.time, request.time)', true],
  ['timestamp_ge(request.time, timestamp("2020-01-01T00:00:00Z"))', true],
  ['timestamp_equal(request.time, timestamp("2026-01-02T03:04:05Z"))', true],
  ['emptyStringMap()', new Map()],
  // type errors (config time) with positions
  ['source.lables["app"]', { type: /^1:1: unknown attribute source\.lables$/ }],
  [
    'destination.port == "9080"',
    { type: /^1:18: operator == needs operands of one type, got INT64 and STRING$/ },
  ],
  ['request.size + "x"', { type: /^1:14: operator \+ needs operands of one type/ }],
  ['source.user["x"]', { type: /^1:12: cannot index a value of type STRING$/ }],
  ['source.labels[1]', { type: /^1:15: map key must be STRING, got INT64$/ }],
  ['connection.mtls && 1', { type: /^1:17: operator && needs BOOL operands, got BOOL and INT64$/ }],
  ['!source.user', { type: /^1:1: operator ! needs BOOL, got STRING$/ }],
  ['nosuch(1)', { type: /^1:1: unknown function nosuch$/ }],
  ['match("a")', { type: /^1:1: match takes 2 argument\(s\), got 1$/ }],
  ['size(1)', { type: /^1:6: argument 1 of size must be STRING, got INT64$/ }],
  ['matches("a", "b")', { type: /matches is a method/ }],
  ['"a".toLower()', { type: /toLower is a function, not a method/ }],
  ['ip("not-an-ip")', { type: /^1:1: could not convert "not-an-ip" to IP_ADDRESS$/ }],
  ['timestamp("yesterday")', { type: /could not convert "yesterday" to TIMESTAMP/ }],
  ['"[".matches(request.path)', { type: /^1:1: invalid regular expression/ }],
  ['response.duration < "soon"', { type: /^1:21: invalid duration "soon"$/ }],
  ['source.labels < source.labels', { type: /operator < does not apply to STRING_MAP/ }],
  ['conditional(1, "a", "b")', { type: /argument 1 of conditional must be BOOL, got INT64/ }],
  ['conditional(true, "a", 2)', { type: /^1:19: argument 2 of conditional must be INT64, got STRING$/ }],
  ['source.ip | "0.0.0.0"', { type: /operator \| needs operands of one type, got IP_ADDRESS and STRING/ }],
  ['-source.user', { type: /unary - applies only to number literals/ }],
  // parse errors with positions
  ['"abc', { type: /^1:1: string literal not terminated$/ }],
  ['a.b ==', { type: /^1:7: unexpected end of expression$/ }],
  ['(1 == 1', { type: /^1:8: expected '\)', found end of expression$/ }],
  ['1 * 2', { type: /^1:3: unsupported operator or character '\*'$/ }],
  ['source.labels["app"] = "x"', { type: /^1:22: unsupported operator or character '='$/ }],
  ['1 2', { type: /^1:3: unexpected '2' after expression$/ }],
  ['"\\q"', { type: /^1:2: invalid escape sequence \\q$/ }],
  ['a.b.\n  c ==', { type: /^2:7: unexpected end of expression$/ }],
  ['x.y', { type: /^1:1: unknown attribute x\.y$/ }],
  ['1 - 2', { type: /^1:3: unsupported operator '-'$/ }],
  ['source.user.', { type: /expected a method name after '.'/ }],
  ['99999999999999999999', { type: /out of range/ }],
];

function show(v: unknown): unknown {
  if (v instanceof Uint8Array) return formatIp(v);
  if (v instanceof Map) return Object.fromEntries(v);
  if (v instanceof Duration) return `${v.ms}ms`;
  if (v instanceof Date) return v.toISOString();
  return v;
}

describe('expression language: a table of cases', () => {
  it('has at least 100 cases', () => assert.ok(CASES.length >= 100, `${CASES.length} cases`));
  for (const [text, want] of CASES) {
    it(text, () => {
      const compiled = compileExpression(text, DEFAULT_MANIFEST);
      if (want && typeof want === 'object' && 'type' in want && want.type instanceof RegExp) {
        assert.equal(compiled.ok, false, `expected a config-time error for ${text}`);
        if (!compiled.ok) assert.match(String(compiled.errors[0]), want.type);
        return;
      }
      assert.ok(compiled.ok, compiled.ok ? '' : compiled.errors.map(String).join('; '));
      const r = compiled.value.tryEvaluate(bag);
      if (want && typeof want === 'object' && 'error' in want && want.error instanceof RegExp) {
        assert.equal(
          r.ok,
          false,
          `expected an evaluation error, got ${JSON.stringify(r.ok && show(r.value))}`,
        );
        if (!r.ok) assert.match(r.errors, want.error);
        return;
      }
      assert.ok(r.ok, r.ok ? '' : r.errors);
      assert.deepEqual(show(r.value), show(want));
    });
  }
});

describe('expression language: referenced attributes and types', () => {
  it('records attributes read, absent ones, and map keys (not whole maps)', () => {
    const c = compileExpression(
      '(request.headers["x-user"] | "") == "john" && (source.labels["nope"] | "x") == "x" && (api.service | "") == ""',
      DEFAULT_MANIFEST,
    );
    assert.ok(c.ok);
    const refs = new ReferencedAttributes();
    assert.equal(c.value.evaluate(bag, refs), true);
    assert.deepEqual(Object.fromEntries(refs.attrs), { 'api.service': false });
    assert.deepEqual(Object.fromEntries(refs.keys.get('request.headers')!), { 'x-user': true });
    assert.deepEqual(Object.fromEntries(refs.keys.get('source.labels')!), { nope: false });
    assert.deepEqual(c.value.attributes, ['api.service', 'request.headers', 'source.labels']);
  });

  it('records a map as absent when the whole map is missing', () => {
    const c = compileExpression('destination.metadata["a"] | "z"', DEFAULT_MANIFEST);
    assert.ok(c.ok);
    const refs = new ReferencedAttributes();
    assert.equal(c.value.evaluate(bag, refs), 'z');
    assert.deepEqual(Object.fromEntries(refs.attrs), { 'destination.metadata': false });
  });

  it('checks against an expected type, accepting a duration literal', () => {
    assert.equal(compileExpression('"5s"', DEFAULT_MANIFEST, 'DURATION').ok, true);
    const bad = compileExpression('request.size', DEFAULT_MANIFEST, 'BOOL');
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.equal(String(bad.errors[0]), '1:1: expression has type INT64, want BOOL');
  });

  it('refuses oversized and over-deep expressions', () => {
    assert.equal(parseExpression('"'.padEnd(20_000, 'a')).ok, false);
    const deep = `${'('.repeat(200)}1${')'.repeat(200)}`;
    const r = parseExpression(deep);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.errors[0]!.message, /nested deeper than 64/);
  });
});
