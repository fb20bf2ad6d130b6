import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AdmissionDecision,
  type AdmissionRequest,
  type AdmissionReview,
  handleAdmissionHttp,
} from '../src/index.js';

function reviewBody(apiVersion: string, uid: string, extra: Partial<AdmissionRequest> = {}): string {
  return JSON.stringify({
    apiVersion,
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: 'networking.istio.io', version: 'v1alpha3', kind: 'VirtualService' },
      resource: { group: 'networking.istio.io', version: 'v1alpha3', resource: 'virtualservices' },
      namespace: 'bookinfo',
      name: 'reviews',
      operation: 'CREATE',
      userInfo: { username: 'admin' },
      object: { metadata: { name: 'reviews' }, spec: { hosts: [] } },
      dryRun: false,
      ...extra,
    },
  });
}

const post = (body: string | Buffer | undefined, contentType: string | undefined = 'application/json') => ({
  method: 'POST',
  contentType,
  body,
});

const allowAll = (): AdmissionDecision => ({ allowed: true });

test('v1: allowed with a JSON patch, uid and apiVersion echoed', async () => {
  let seenReq: AdmissionRequest | undefined;
  const result = await handleAdmissionHttp(post(reviewBody('admission.k8s.io/v1', 'uid-1')), (req) => {
    seenReq = req;
    return {
      allowed: true,
      patch: [{ op: 'add', path: '/metadata/labels', value: { injected: 'true' } }],
      warnings: ['deprecated field'],
    };
  });
  assert.equal(result.status, 200);
  const body = result.body as AdmissionReview;
  assert.equal(body.apiVersion, 'admission.k8s.io/v1');
  assert.equal(body.kind, 'AdmissionReview');
  assert.equal(body.request, undefined);
  assert.equal(body.response?.uid, 'uid-1');
  assert.equal(body.response?.allowed, true);
  assert.equal(body.response?.patchType, 'JSONPatch');
  assert.deepEqual(JSON.parse(Buffer.from(body.response!.patch!, 'base64').toString('utf8')), [
    { op: 'add', path: '/metadata/labels', value: { injected: 'true' } },
  ]);
  assert.deepEqual(body.response?.warnings, ['deprecated field']);
  assert.equal(seenReq?.operation, 'CREATE');
  assert.equal(seenReq?.namespace, 'bookinfo');
  assert.equal(seenReq?.userInfo.username, 'admin');
});

test('v1beta1: denied with message, code and reason; async reviewer', async () => {
  const result = await handleAdmissionHttp(
    post(Buffer.from(reviewBody('admission.k8s.io/v1beta1', 'uid-2')), 'application/json; charset=utf-8'),
    async (req) => ({
      allowed: false,
      message: `${req.name}: spec.hosts must not be empty`,
      reason: 'Invalid',
    }),
  );
  assert.equal(result.status, 200);
  const body = result.body as AdmissionReview;
  assert.equal(body.apiVersion, 'admission.k8s.io/v1beta1');
  assert.deepEqual(body.response, {
    uid: 'uid-2',
    allowed: false,
    status: {
      status: 'Failure',
      message: 'reviews: spec.hosts must not be empty',
      code: 400,
      reason: 'Invalid',
    },
  });
});

test('an allowed decision without a patch carries no patch fields', async () => {
  const result = await handleAdmissionHttp(post(reviewBody('admission.k8s.io/v1', 'uid-3')), allowAll);
  assert.deepEqual((result.body as AdmissionReview).response, { uid: 'uid-3', allowed: true });
});

test('a throwing reviewer denies with its message and no stack', async () => {
  const result = await handleAdmissionHttp(post(reviewBody('admission.k8s.io/v1', 'uid-4')), () => {
    throw new Error('validator exploded');
  });
  assert.equal(result.status, 200);
  const response = (result.body as AdmissionReview).response!;
  assert.equal(response.uid, 'uid-4');
  assert.equal(response.allowed, false);
  assert.match(response.status!.message!, /validator exploded/);
  assert.doesNotMatch(JSON.stringify(result.body), /at .*\.js:\d+/);
});

test('wrong content type is 415 and the reviewer is not called', async () => {
  let called = false;
  const review = () => {
    called = true;
    return { allowed: true } as const;
  };
  for (const type of ['text/plain', 'application/yaml', undefined]) {
    const body = reviewBody('admission.k8s.io/v1', 'u');
    const result = await handleAdmissionHttp({ method: 'POST', contentType: type, body }, review);
    assert.equal(result.status, 415, String(type));
  }
  assert.equal(called, false);
});

test('empty, malformed and non-review bodies are 400', async () => {
  const cases: [string, string | undefined][] = [
    ['empty', ''],
    ['missing', undefined],
    ['malformed', '{"apiVersion": '],
    ['array', '[]'],
    ['no request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' })],
    ['no uid', reviewBody('admission.k8s.io/v1', '')],
    ['wrong kind', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request: { uid: 'x' } })],
    ['wrong version', reviewBody('admission.k8s.io/v2', 'x')],
  ];
  for (const [what, body] of cases) {
    const result = await handleAdmissionHttp(post(body), allowAll);
    assert.equal(result.status, 400, what);
    assert.equal(typeof (result.body as { error: string }).error, 'string', what);
  }
});

test('non-POST is 405', async () => {
  const result = await handleAdmissionHttp(
    { method: 'GET', contentType: 'application/json', body: reviewBody('admission.k8s.io/v1', 'u') },
    allowAll,
  );
  assert.equal(result.status, 405);
});
