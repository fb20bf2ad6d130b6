import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { SpecValidator } from '../src/validate/common.js';
import {
  validateDestinationRule,
  validateEnvoyFilter,
  validateGateway,
  validateServiceEntry,
  validateSidecar,
  validateVirtualService,
} from '../src/validate/networking.js';

// dist/test -> libs/config -> repo root -> ../shared
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const istio = join(repo, '..', 'shared', 'testdata', 'istio-1.4.10');

const BY_KIND: Record<string, SpecValidator> = {
  VirtualService: validateVirtualService,
  DestinationRule: validateDestinationRule,
  Gateway: validateGateway,
  ServiceEntry: validateServiceEntry,
  Sidecar: validateSidecar,
  EnvoyFilter: validateEnvoyFilter,
};

interface Doc {
  kind: string;
  name: string;
  spec: Record<string, unknown>;
}

function networkingDocs(file: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map(
    (d) => d.toJS() as Record<string, unknown> | null,
  );
  return docs
    .filter(
      (d): d is Record<string, unknown> => !!d && String(d.apiVersion).startsWith('networking.istio.io/'),
    )
    .map((d) => ({
      kind: String(d.kind),
      name: String((d.metadata as { name?: string } | undefined)?.name ?? ''),
      spec: (d.spec ?? {}) as Record<string, unknown>,
    }));
}

function run(doc: Doc) {
  const v = BY_KIND[doc.kind];
  assert.ok(v, `no validator for ${doc.kind}`);
  return v(doc.spec, { name: doc.name, namespace: 'default' });
}

describe('Galley validation dataset (networking)', () => {
  const dir = join(istio, 'galley', 'testdata', 'validation', 'dataset');
  const files = readdirSync(dir).filter((f) => f.startsWith('networking-v1alpha3-'));
  it('has the 12 networking files', () => assert.equal(files.length, 12));
  for (const f of files) {
    it(f, () => {
      const [doc] = networkingDocs(join(dir, f));
      assert.ok(doc);
      const errs = run(doc);
      if (f.endsWith('-valid.yaml')) assert.deepEqual(errs, []);
      else assert.ok(errs.length > 0, 'expected rejection');
    });
  }
});

describe('Istio sample and pilot test configs validate clean', () => {
  const dirs = [join(istio, 'samples', 'bookinfo', 'networking'), join(istio, 'tests', 'testdata', 'config')];
  for (const dir of dirs) {
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
      it(`${dir.slice(istio.length + 1)}/${f}`, () => {
        for (const doc of networkingDocs(join(dir, f))) {
          assert.deepEqual(run(doc), [], `${doc.kind} ${doc.name}`);
        }
      });
    }
  }
});

/** Asserts that `errs` contains a message including `want`. */
function hasMessage(errs: { message: string }[], want: string): void {
  assert.ok(
    errs.some((e) => e.message.includes(want)),
    `expected "${want}" in ${JSON.stringify(errs.map((e) => e.message))}`,
  );
}

type Spec = Record<string, unknown>;
const meta = { name: 'test', namespace: 'default' };
const dest = (host = 'foo.bar', weight?: number) => ({
  destination: { host },
  ...(weight === undefined ? {} : { weight }),
});
/** A VS with one HTTP route carrying `extra`. */
const httpVS = (extra: Spec, routes: unknown[] = [dest()]): Spec => ({
  hosts: ['foo.bar'],
  http: [{ route: routes, ...extra }],
});
const vs = (spec: Spec) => validateVirtualService(spec, meta);
const fault = (f: Spec) => vs(httpVS({ fault: f }));
const retries = (r: Spec) => vs(httpVS({ retries: r }));
const server = (s: Spec) => ({
  port: { number: 80, protocol: 'HTTP', name: 'http' },
  hosts: ['foo.bar.com'],
  ...s,
});
const gw = (servers: Spec[]) => validateGateway({ servers }, meta);
const se = (spec: Spec) =>
  validateServiceEntry(
    { hosts: ['foo.bar.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], ...spec },
    meta,
  );

// [case, errors, expected message substrings]; an empty list means "must be valid".
const CASES: [string, () => { message: string }[], string[]][] = [
  [
    '1 VS without hosts',
    () => vs({ http: [{ route: [dest()] }] }),
    ['virtual service must have at least one host'],
  ],
  [
    '2 VS bad host',
    () => vs({ hosts: ['foo.ba!r'], http: [{ route: [dest()] }] }),
    ['domain name "foo.ba!r" invalid (label "ba!r" invalid)'],
  ],
  [
    '3 VS duplicate wildcard hosts',
    () => vs({ hosts: ['*.foo.bar', '*.bar'], http: [{ route: [dest()] }] }),
    ['duplicate hosts in virtual service: *.foo.bar & *.bar'],
  ],
  [
    '4 VS without routes',
    () => vs({ hosts: ['foo.bar'] }),
    ['http, tcp or tls must be provided in virtual service'],
  ],
  [
    '5 VS * bound to mesh',
    () => vs({ hosts: ['*'], http: [{ route: [dest()] }] }),
    ['wildcard host * is not allowed for virtual services bound to the mesh gateway'],
  ],
  [
    '5 VS * bound to a gateway is fine',
    () => vs({ hosts: ['*'], gateways: ['gw'], http: [{ route: [dest()] }] }),
    [],
  ],
  [
    '6 VS bad gateway names',
    () => vs({ ...httpVS({}), gateways: ['b@dgateway'] }),
    ['domain name "b@dgateway" invalid'],
  ],
  ['6 VS ns1/*', () => vs({ ...httpVS({}), gateways: ['ns1/*'] }), ['invalid value for gateway name: "*"']],
  [
    '6 VS */gateway',
    () => vs({ ...httpVS({}), gateways: ['*/gateway'] }),
    ['invalid value for namespace: "*"'],
  ],
  [
    '6 VS good gateway names',
    () => vs({ ...httpVS({}), gateways: ['gateway.example.com', 'ns1/gateway'] }),
    [],
  ],
  [
    '7 weights 55+50',
    () => vs(httpVS({}, [dest('a.b', 55), dest('c.d', 50)])),
    ['total destination weight 105 != 100'],
  ],
  [
    '7 weights 49+50',
    () => vs(httpVS({}, [dest('a.b', 49), dest('c.d', 50)])),
    ['total destination weight 99 != 100'],
  ],
  [
    '7 weights 0+0',
    () => vs(httpVS({}, [dest('a.b', 0), dest('c.d', 0)])),
    ['total destination weight 0 != 100'],
  ],
  ['7 single weight 0', () => vs(httpVS({}, [dest('a.b', 0)])), []],
  ['8 weight -1', () => vs(httpVS({}, [dest('a.b', -1)])), ['percentage -1 is not in range 0..100']],
  ['9 destination *', () => vs(httpVS({}, [dest('*')])), ['invalid destination host *']],
  [
    '9 destination foo.*',
    () => vs(httpVS({}, [dest('foo.*')])),
    ['domain name "foo.*" invalid (label "*" invalid)'],
  ],
  ['9 destination default/baz', () => vs(httpVS({}, [dest('default/baz')])), ['label "default/baz" invalid']],
  [
    '10 no route nor redirect',
    () => vs({ hosts: ['foo.bar'], http: [{}] }),
    ['HTTP route or redirect is required'],
  ],
  [
    '10 route and redirect',
    () => vs(httpVS({ redirect: { uri: '/x' } })),
    ['HTTP route cannot contain both route and redirect'],
  ],
  [
    '11 empty header names',
    () =>
      vs(
        httpVS({
          headers: {
            request: { add: { '': 'x' }, set: { '': 'y' }, remove: [''] },
            response: { add: { '': 'z' } },
          },
        }),
      ),
    ['header name cannot be empty'],
  ],
  [
    '11 null header match',
    () => vs(httpVS({ match: [{ headers: { header: null } }] })),
    ['header match header cannot be null'],
  ],
  ['12 empty fault', () => fault({}), ['HTTP fault injection must have an abort and/or a delay']],
  [
    '12 abort 9000',
    () => fault({ abort: { httpStatus: 9000 } }),
    ['HTTP status 9000 is not in range 200-599'],
  ],
  ['12 abort 100', () => fault({ abort: { httpStatus: 100 } }), ['HTTP status 100 is not in range 200-599']],
  ['12 abort 600 accepted (Istio quirk)', () => fault({ abort: { httpStatus: 600 } }), []],
  [
    '13 percentage -10',
    () => fault({ abort: { httpStatus: 500, percentage: { value: -10 } } }),
    ['percentage -10 is neither 0.0, nor in range [0.0001, 100.0]'],
  ],
  [
    '13 percent -1',
    () => fault({ delay: { fixedDelay: '1s', percent: -1 } }),
    ['percentage -1 is not in range 0..100'],
  ],
  ['14 attempts -1', () => retries({ attempts: -1 }), ['attempts cannot be negative']],
  [
    '14 attempts 0 with policy',
    () => retries({ attempts: 0, perTryTimeout: '1s', retryOn: '5xx' }),
    ['http retry policy configured when attempts are set to 0 (disabled)'],
  ],
  [
    '15 perTryTimeout 2s+1ns',
    () => retries({ attempts: 3, perTryTimeout: '2.000000001s' }),
    ['only durations to ms precision are supported'],
  ],
  [
    '15 perTryTimeout 999ns',
    () => retries({ attempts: 3, perTryTimeout: '999ns' }),
    ['duration must be greater than 1ms'],
  ],
  [
    '15 retryOn invalid policy',
    () => retries({ attempts: 3, retryOn: '5xx,invalid policy' }),
    ['"invalid policy" is not a valid retryOn policy'],
  ],
  [
    '15 retryOn 600',
    () => retries({ attempts: 3, retryOn: '600,connect-failure' }),
    ['"600" is not a valid retryOn policy'],
  ],
  ['16 empty rewrite', () => vs(httpVS({ rewrite: {} })), ['rewrite must specify URI, authority, or both']],
  [
    '16 empty redirect',
    () => vs({ hosts: ['foo.bar'], http: [{ redirect: {} }] }),
    ['redirect must specify URI, authority, or both'],
  ],
  [
    '16 redirect code 200',
    () => vs({ hosts: ['foo.bar'], http: [{ redirect: { uri: '/x', redirectCode: 200 } }] }),
    ['200 is not a valid redirect code, must be 3xx'],
  ],
  ['17 DR empty host', () => validateDestinationRule({ host: '' }, meta), ['empty domain name not allowed']],
  [
    '17 DR empty subset name',
    () => validateDestinationRule({ host: 'a.b', subsets: [{ name: '' }] }, meta),
    ['subset name cannot be empty'],
  ],
  [
    '17 DR bad subset name',
    () => validateDestinationRule({ host: 'a.b', subsets: [{ name: 'foo.bar' }] }, meta),
    ['subset name is invalid'],
  ],
  [
    '17 DR exportTo 2 entries',
    () => validateDestinationRule({ host: 'a.b', exportTo: ['.', '*'] }, meta),
    ['exportTo should have only one entry (. or *) in the current release'],
  ],
  [
    '18 gateway without servers',
    () => validateGateway({ selector: { istio: 'ingressgateway' } }, meta),
    ['gateway must have at least one server'],
  ],
  [
    '18 port 66000',
    () => gw([server({ port: { number: 66000, protocol: 'HTTP', name: 'http' } })]),
    ['port number 66000 must be in the range 1..65535'],
  ],
  [
    '18 duplicate port name',
    () =>
      gw([
        server({ port: { number: 80, protocol: 'HTTP', name: 'foo' } }),
        server({ port: { number: 81, protocol: 'HTTP', name: 'foo' } }),
      ]),
    ['port names in servers must be unique: duplicate name foo'],
  ],
  ['19 short host', () => gw([server({ hosts: ['foo'] })]), ['short names (non FQDN) are not allowed']],
  ['19 foo.*.bar.com', () => gw([server({ hosts: ['foo.*.bar.com'] })]), ['invalid (label "*" invalid)']],
  [
    '19 HTTPS without tls',
    () => gw([server({ port: { number: 443, protocol: 'HTTPS', name: 'https' } })]),
    ['server must have TLS settings for HTTPS/TLS protocols'],
  ],
  [
    '19 tls on HTTP',
    () => gw([server({ tls: { mode: 'SIMPLE', serverCertificate: 'a', privateKey: 'b' } })]),
    ['server cannot have TLS settings for plain text HTTP ports'],
  ],
  ['19 httpsRedirect on HTTP is fine', () => gw([server({ tls: { httpsRedirect: true } })]), []],
  [
    '19 kafka',
    () => gw([server({ port: { number: 80, protocol: 'kafka', name: 'k' } })]),
    ['invalid protocol "kafka", supported protocols are HTTP, HTTP2, GRPC, MONGO, REDIS, MYSQL, TCP'],
  ],
  [
    '19 SIMPLE without certs',
    () => gw([server({ port: { number: 443, protocol: 'HTTPS', name: 'https' }, tls: { mode: 'SIMPLE' } })]),
    ['SIMPLE TLS requires a server certificate', 'SIMPLE TLS requires a private key'],
  ],
  ['20 SE without hosts', () => se({ hosts: [] }), ['service entry must have at least one host']],
  ['20 SE host *', () => se({ hosts: ['*'] }), ['invalid host *']],
  ['20 SE host -', () => se({ hosts: ['-'] }), ['invalid (label "-" invalid)']],
  [
    '20 SE undefined endpoint port',
    () => se({ resolution: 'STATIC', endpoints: [{ address: '1.1.1.1', ports: { 'http-dne': 8080 } }] }),
    ['endpoint port http-dne is not defined by the service entry'],
  ],
  [
    '20 SE DNS wildcard without endpoints',
    () => se({ hosts: ['*.google.com'], resolution: 'DNS' }),
    ['hosts must be FQDN if no endpoints are provided for resolution mode DNS'],
  ],
  [
    '20 SE NONE with endpoints',
    () => se({ resolution: 'NONE', endpoints: [{ address: '1.1.1.1' }] }),
    ['no endpoints should be provided for resolution type none'],
  ],
  [
    '20 SE STATIC without endpoints',
    () => se({ resolution: 'STATIC' }),
    ['endpoints must be provided if service entry resolution mode is static'],
  ],
  [
    '20 SE duplicate port name and number',
    () =>
      se({
        ports: [
          { number: 80, name: 'x', protocol: 'HTTP' },
          { number: 80, name: 'x', protocol: 'HTTP' },
        ],
      }),
    ['service entry port name "x" already defined', 'port 80 already defined'],
  ],
  [
    '20 SE CIDR with DNS',
    () => se({ addresses: ['10.0.0.0/16'], resolution: 'DNS' }),
    ['CIDR addresses are allowed only for NONE/STATIC resolution types'],
  ],
];

describe('Istio 1.4 validation cases (behaviours section 4)', () => {
  for (const [name, errs, want] of CASES) {
    it(name, () => {
      const got = errs();
      if (want.length === 0) assert.deepEqual(got, []);
      for (const w of want) hasMessage(got, w);
    });
  }
});

describe('domain basics', () => {
  it('rejects FQDNs over 255 characters', () => {
    const long = `${'a'.repeat(63)}.`.repeat(4) + 'com';
    hasMessage(validateDestinationRule({ host: long }, meta), 'too long (max 255)');
  });
  for (const bad of ['foo*.bar.com', 'foo.*.com', '1.1.1.1']) {
    it(`rejects wildcard domain ${bad}`, () =>
      assert.notDeepEqual(validateDestinationRule({ host: bad }, meta), []));
  }
  for (const good of ['*', '*foo', '*-foo.bar.com', '*.bar.com']) {
    it(`accepts wildcard domain ${good}`, () =>
      assert.deepEqual(validateDestinationRule({ host: good }, meta), []));
  }
  for (const name of ['', 'a'.repeat(64)]) {
    it(`rejects port name of length ${name.length}`, () =>
      hasMessage(se({ ports: [{ number: 80, name, protocol: 'HTTP' }] }), `invalid port name: ${name}`));
  }
});

describe('schema checks', () => {
  it('reports unknown fields with their path, and keeps validating', () => {
    const errs = vs({
      hosts: ['foo.bar'],
      http: [{ route: [{ destination: { host: 'a.b' }, wieght: 5 }] }],
      zarams: 1,
    });
    assert.deepEqual(errs, [
      {
        field: 'http[0].route[0].wieght',
        message: 'unknown field "wieght" in v1alpha3.HTTPRouteDestination',
      },
      { field: 'zarams', message: 'unknown field "zarams" in v1alpha3.VirtualService' },
    ]);
  });
  it('collects every error, with field paths', () => {
    const errs = vs({
      hosts: ['foo.bar'],
      http: [{ route: [dest('a.b', 55), dest('*', 50)], retries: { attempts: -1 } }],
    });
    assert.deepEqual(errs, [
      { field: 'http[0].retries.attempts', message: 'attempts cannot be negative' },
      { field: 'http[0].route[1].destination.host', message: 'invalid destination host *' },
      { field: 'http[0].route', message: 'total destination weight 105 != 100' },
    ]);
  });
  it('checks enum values', () => {
    hasMessage(
      validateDestinationRule({ host: 'a.b', trafficPolicy: { tls: { mode: 'STRICT' } } }, meta),
      'unknown value "STRICT"',
    );
    hasMessage(se({ resolution: 'DNZ' }), 'unknown value "DNZ" for enum Resolution');
    hasMessage(
      validateSidecar({ egress: [{ hosts: ['*/*'] }], outboundTrafficPolicy: { mode: 'OPEN' } }, meta),
      'unknown value "OPEN"',
    );
  });
  it('rejects two members of a oneof', () => {
    hasMessage(
      vs(httpVS({ match: [{ uri: { exact: '/a', prefix: '/b' } }] })),
      'only one of exact, prefix may be set in v1alpha3.StringMatch',
    );
  });
  it('accepts proto (snake_case) field names as jsonpb does', () => {
    assert.deepEqual(fault({ delay: { fixed_delay: '5s', percentage: { value: 50 } } }), []);
  });
  it('rejects wrong JSON types', () => {
    hasMessage(
      vs({ hosts: 'foo.bar', http: [{ route: [dest()] }] }),
      'cannot unmarshal string into repeated field hosts',
    );
  });
});

describe('sidecar and envoy filter', () => {
  it('requires egress', () => hasMessage(validateSidecar({}, meta), 'sidecar: missing egress'));
  it('requires namespace/host in egress hosts', () =>
    hasMessage(
      validateSidecar({ egress: [{ hosts: ['foo.com'] }] }, meta),
      'host must be of form namespace/dnsName',
    ));
  it('checks config patches', () => {
    const errs = validateEnvoyFilter(
      {
        configPatches: [
          { applyTo: 'CLUSTER', patch: { operation: 'MERGE', value: {} }, match: { listener: {} } },
          { patch: {} },
        ],
      },
      meta,
    );
    assert.deepEqual(
      errs.map((e) => e.message),
      [
        'Envoy filter: applyTo for cluster class objects cannot have non cluster match',
        'Envoy filter: missing applyTo',
      ],
    );
  });
  it('rejects an unknown applyTo value', () =>
    hasMessage(
      validateEnvoyFilter({ configPatches: [{ applyTo: 'LISTENERS' }] }, meta),
      'unknown value "LISTENERS" for enum ApplyTo',
    ));
});
