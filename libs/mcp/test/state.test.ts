import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyResponse } from '../src/index.js';
import { openWatch, receive, respond } from '../src/watch.js';
import { toWireResource } from '../src/wire.js';
import { res, snap } from './helpers.js';

const C = 'istio/networking/v1alpha3/gateways';

test('a watch answers once per content change and waits for the ACK in between', () => {
  const w = openWatch({ collection: C }, C, true);
  assert.equal(respond(w, undefined, '1'), undefined, 'nothing before the first snapshot');
  const v1 = snap('v1', { [C]: [res('ns/a', '1')] });
  assert.equal(respond(w, v1, '1')?.nonce, '1');
  assert.equal(respond(w, snap('v2', { [C]: [res('ns/a', '2')] }), '2'), undefined, 'pending');
  assert.deepEqual(receive(w, { collection: C, response_nonce: '9' }), { kind: 'stale', pendingNonce: '1' });
  assert.deepEqual(receive(w, { collection: C, response_nonce: '1' }), { kind: 'ack', version: 'v1' });
  assert.equal(respond(w, snap('v1b', { [C]: [res('ns/a', '1')] }), '2'), undefined, 'same content');
  const v2 = respond(w, snap('v2', { [C]: [res('ns/a', '2')] }), '2');
  assert.equal(v2?.incremental, false, 'the sink did not ask for incremental');
  const nack = receive(w, { collection: C, response_nonce: '2', error_detail: { code: 3, message: 'no' } });
  assert.deepEqual(nack, { kind: 'nack', version: 'v2', error: { code: 3, message: 'no' } });
  assert.equal(
    respond(w, snap('v2', { [C]: [res('ns/a', '2')] }), '3'),
    undefined,
    'a NACKed content is not resent',
  );
  assert.equal(w.ackedVersion, 'v1');
});

test('an incremental watch resumes from initial versions and sends deltas against the acked map', () => {
  const w = openWatch(
    { collection: C, incremental: true, initial_resource_versions: { 'ns/a': '1', 'ns/b': '1' } },
    C,
    true,
  );
  const r1 = respond(w, snap('v1', { [C]: [res('ns/a', '1'), res('ns/c', '1')] }), '1');
  assert.equal(r1?.incremental, true);
  assert.deepEqual(
    r1?.resources?.map((r) => r.metadata?.name),
    ['ns/c'],
  );
  assert.deepEqual(r1?.removed_resources, ['ns/b']);
  receive(w, { collection: C, response_nonce: '1', incremental: true });
  const r2 = respond(w, snap('v2', { [C]: [res('ns/a', '2'), res('ns/c', '1')] }), '2');
  assert.deepEqual(
    r2?.resources?.map((r) => r.metadata?.name),
    ['ns/a'],
  );
  assert.deepEqual(r2?.removed_resources, []);

  const disallowed = openWatch(
    { collection: C, incremental: true, initial_resource_versions: { 'ns/a': '1' } },
    C,
    false,
  );
  assert.equal(respond(disallowed, snap('v1', { [C]: [res('ns/a', '1')] }), '1')?.incremental, false);
});

test('applyResponse replaces on a full set and patches on an incremental one', () => {
  const wire = (name: string, version: string) => toWireResource(res(name, version));
  const full = applyResponse(new Map(), {
    collection: C,
    system_version_info: 'v1',
    resources: [wire('a', '1'), wire('b', '1')],
  });
  assert.deepEqual([...full.next.keys()], ['a', 'b']);
  const replaced = applyResponse(full.next, { collection: C, resources: [wire('b', '2')] });
  assert.deepEqual(replaced.update.removed, ['a']);
  assert.deepEqual(
    replaced.update.changed.map((r) => r.metadata.name),
    ['b'],
  );
  const patched = applyResponse(full.next, {
    collection: C,
    incremental: true,
    resources: [wire('c', '1')],
    removed_resources: ['a', 'zz'],
  });
  assert.deepEqual([...patched.next.keys()].sort(), ['b', 'c']);
  assert.deepEqual(patched.update.removed, ['a']);
  assert.equal(full.next.size, 2, 'the previous state is untouched');
  assert.throws(
    () => applyResponse(full.next, { collection: C, resources: [{ metadata: {} }] }),
    /metadata\.name/,
  );
});
