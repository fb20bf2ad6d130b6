// The engine in process: rule selection by identity namespace, combining answers, header
// operations, policyCheckFailOpen, and the cache in front of it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MapBag } from '@keel/attributes';
import { silentLogger } from '@keel/runtime';
import {
  compilePolicy,
  emptyConfig,
  extAuthzResponse,
  PolicyEngine,
  type PolicyResource,
} from '../src/index.js';

const res = (
  kind: string,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): PolicyResource => ({
  kind,
  namespace,
  name,
  spec,
  version: '1',
});
const env = { logger: silentLogger, bus: () => undefined, now: Date.now };

function engineWith(resources: PolicyResource[], failOpen = false): PolicyEngine {
  const engine = new PolicyEngine({ failOpen: () => failOpen });
  const { config } = compilePolicy(resources, emptyConfig(), env, '1');
  assert.deepEqual(config.issues, []);
  engine.setConfig(config);
  return engine;
}

const denier = (ns: string, name: string, code = 7, extra: Record<string, unknown> = {}) => [
  res('handler', ns, name, {
    compiledAdapter: 'denier',
    params: { status: { code, message: `no (${name})` }, ...extra },
  }),
  res('instance', ns, `${name}-i`, { compiledTemplate: 'checknothing' }),
  res('rule', ns, name, { actions: [{ handler: name, instances: [`${name}-i`] }] }),
];

const bag = (o: Record<string, unknown>) => new MapBag(o as never);

describe('policy engine', () => {
  it("applies a namespace's rules only to its identity namespace; istio-system's everywhere", async () => {
    const engine = engineWith([...denier('team-a', 'a-only'), ...denier('istio-system', 'global', 16)]);
    const inA = await engine.check(bag({ 'destination.namespace': 'team-a' }));
    assert.equal(inA.code, 16, 'the first non-OK code (istio-system rules come first)');
    assert.equal(inA.message, 'global.handler.istio-system:no (global), a-only.handler.team-a:no (a-only)');
    const inB = await engine.check(bag({ 'destination.namespace': 'team-b' }));
    assert.equal(inB.message, 'global.handler.istio-system:no (global)');
    // Outbound reports select rules by the source namespace.
    const outbound = await engine.check(
      bag({
        'context.reporter.kind': 'outbound',
        'source.namespace': 'team-a',
        'destination.namespace': 'team-b',
      }),
    );
    assert.match(outbound.message, /a-only\.handler\.team-a/);
  });

  it('combines validity as the minimum over handlers; no handler means OK for 1 min / 10000 uses', async () => {
    const engine = engineWith([
      ...denier('default', 'd1', 7, { validDuration: '3s', validUseCount: 50 }),
      ...denier('default', 'd2', 9, { validDuration: '10s', validUseCount: 5 }),
    ]);
    const v = await engine.check(bag({ 'destination.namespace': 'default' }));
    assert.deepEqual(
      [v.decision.validDurationMs, v.decision.validUseCount, v.code, v.httpStatus],
      [3000, 5, 7, 403],
    );
    const none = await engine.check(bag({ 'destination.namespace': 'elsewhere' }));
    assert.deepEqual(
      [none.code, none.decision.validDurationMs, none.decision.validUseCount],
      [0, 60_000, 10_000],
    );
  });

  it("returns the rules' header operations in the ext_authz OK response", async () => {
    const engine = engineWith([
      res('rule', 'default', 'headers', {
        match: 'destination.service.name == "ratings"',
        requestHeaderOperations: [
          { name: 'x-keel-user', values: ['request.headers["x-user"] | "anonymous"'] },
          { name: 'x-debug', operation: 'REMOVE' },
          { name: 'x-trace', values: ['"a"', '"b"'], operation: 'APPEND' },
        ],
        responseHeaderOperations: [{ name: 'x-served-by', values: ['destination.service.name'] }],
      }),
    ]);
    const v = await engine.check(
      bag({ 'destination.namespace': 'default', 'destination.service.name': 'ratings' }),
    );
    const r = extAuthzResponse(v);
    assert.deepEqual(r.ok_response.headers, [
      { header: { key: 'x-keel-user', value: 'anonymous' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-trace', value: 'a' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-trace', value: 'b' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    assert.deepEqual(r.ok_response.headers_to_remove, ['x-debug']);
    assert.deepEqual(r.ok_response.response_headers_to_add, [
      { header: { key: 'x-served-by', value: 'ratings' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ]);
  });

  it('an instance that cannot be built denies INTERNAL (500), or allows under policyCheckFailOpen', async () => {
    const resources = [
      res('handler', 'default', 'wl', { compiledAdapter: 'listchecker', params: { overrides: ['v1'] } }),
      res('instance', 'default', 'ver', {
        compiledTemplate: 'listentry',
        params: { value: 'source.labels["version"]' },
      }),
      res('rule', 'default', 'wl', { actions: [{ handler: 'wl', instances: ['ver'] }] }),
    ];
    const noLabels = bag({ 'destination.namespace': 'default', 'source.labels': new Map() });
    const closed = await engineWith(resources, false).check(noLabels);
    assert.deepEqual([closed.code, closed.httpStatus], [13, 500]);
    assert.match(
      closed.message,
      /^wl\.handler\.default:instance: lookup failed: 'source\.labels\[version\]'$/,
    );
    const open = await engineWith(resources, true).check(noLabels);
    assert.equal(open.code, 0);
  });

  it('serves repeated checks from the decision cache until the use count runs out', async () => {
    const engine = engineWith(denier('default', 'd', 7, { validUseCount: 2 }));
    const b = bag({ 'destination.namespace': 'default', 'request.id': 'x' });
    const hits = [];
    for (let i = 0; i < 4; i++) hits.push((await engine.check(b)).cacheHit);
    assert.deepEqual(hits, [false, true, true, false]);
  });
});
