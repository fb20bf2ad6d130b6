// Every bookinfo policy sample, as reference/istio-1.4-behaviours.md section 2 says it behaves:
// YAML -> Galley -> MCP -> mixer-policy, driven by ext_authz CheckRequests carrying the
// context_extensions Pilot generates for the called proxy.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '@keel/testing';
import { outcome, type PolicyMesh, startPolicyMesh } from './mesh.js';

function sample(files: string[], body: (mesh: () => PolicyMesh) => void): void {
  describe(files.join(' + '), () => {
    let mesh: PolicyMesh;
    before(async () => {
      mesh = await startPolicyMesh(files);
    });
    after(async () => {
      await mesh?.stop();
    });
    body(() => mesh);
  });
}

describe('bookinfo policy samples over ext_authz', () => {
  it('Pilot puts destination attributes in the ratings proxy ext_authz context_extensions', async () => {
    const mesh = await startPolicyMesh([]);
    try {
      const ext = mesh.extensions('ratings');
      assert.equal(ext['destination.service.host'], 'ratings.default.svc.cluster.local');
      assert.equal(ext['destination.uid'], 'kubernetes://ratings-v1-local.default');
      assert.equal(ext['context.reporter.kind'], 'inbound');
      const ok = outcome(await mesh.check('reviewsV3', 'ratings'));
      assert.deepEqual(ok, { grpc: 0, http: 200, body: '' }, 'no rules: OK');
    } finally {
      await mesh.stop();
    }
  });

  for (const file of ['mixer-rule-deny-label.yaml', 'mixer-rule-deny-label-crd.yaml']) {
    sample([file], (mesh) => {
      it('reviews-v3 -> ratings is denied 403 "...denyreviewsv3handler...:Not allowed"', async () => {
        const r = outcome(await mesh().check('reviewsV3', 'ratings'));
        assert.equal(r.grpc, 7);
        assert.equal(r.http, 403);
        const kind = file.includes('crd') ? 'denier' : 'handler';
        assert.equal(r.body, `PERMISSION_DENIED:denyreviewsv3handler.${kind}.default:Not allowed`);
      });
      it('reviews-v1 and v2 -> ratings are unaffected', async () => {
        assert.equal(outcome(await mesh().check('reviewsV1', 'ratings')).http, 200);
        assert.equal(outcome(await mesh().check('reviewsV2', 'ratings')).http, 200);
        assert.equal(outcome(await mesh().check('reviewsV3', 'details')).http, 200);
      });
    });
  }

  sample(['mixer-rule-deny-serviceaccount.yaml'], (mesh) => {
    it('productpage -> details is denied (by service account), others are not', async () => {
      const r = outcome(await mesh().check('productpage', 'details'));
      assert.equal(r.http, 403);
      assert.match(r.body, /^PERMISSION_DENIED:denyproductpagehandler\.handler\.default:/);
      assert.equal(outcome(await mesh().check('reviewsV1', 'details')).http, 200);
      assert.equal(outcome(await mesh().check('productpage', 'reviewsV1')).http, 200);
      // Without mTLS there is no principal, so the match cannot be true.
      assert.equal(outcome(await mesh().check('productpage', 'details', { mtls: false })).http, 200);
    });
  });

  for (const file of ['mixer-rule-deny-whitelist.yaml', 'mixer-rule-deny-whitelist-crd.yaml']) {
    sample([file], (mesh) => {
      it('reviews-v3 -> ratings is 403 "v3 is not whitelisted"; v1, v2 pass', async () => {
        const r = outcome(await mesh().check('reviewsV3', 'ratings'));
        assert.equal(r.http, 403);
        assert.match(
          r.body,
          /^PERMISSION_DENIED:whitelist\.(handler|listchecker)\.default:v3 is not whitelisted$/,
        );
        assert.equal(outcome(await mesh().check('reviewsV1', 'ratings')).http, 200);
        assert.equal(outcome(await mesh().check('reviewsV2', 'ratings')).http, 200);
      });
    });
  }

  for (const file of ['mixer-rule-deny-ip.yaml', 'mixer-rule-deny-ip-crd.yaml']) {
    sample([file], (mesh) => {
      it('through the ingress, clients outside 10.57.0.0/16 get 403; inside pass; mesh traffic unaffected', async () => {
        const out = outcome(await mesh().check('ingress', 'productpage'));
        assert.equal(out.http, 403);
        assert.match(out.body, /192\.168\.7\.7 is not whitelisted$/);
        assert.equal(outcome(await mesh().check('ingressInside', 'productpage')).http, 200);
        assert.equal(outcome(await mesh().check('reviewsV1', 'ratings')).http, 200);
      });
    });
  }

  sample(['mixer-rule-ingress-denial.yaml'], (mesh) => {
    it('x-user: john through the ingress is 403; testuser and mesh-internal john pass', async () => {
      const denied = outcome(await mesh().check('ingress', 'productpage', { headers: { 'x-user': 'john' } }));
      assert.equal(denied.http, 403);
      assert.match(denied.body, /^PERMISSION_DENIED:handler\.handler\.istio-system:Not allowed$/);
      assert.equal(
        outcome(await mesh().check('ingress', 'productpage', { headers: { 'x-user': 'testuser' } })).http,
        200,
      );
      assert.equal(
        outcome(await mesh().check('reviewsV1', 'ratings', { headers: { 'x-user': 'john' } })).http,
        200,
      );
    });
  });

  sample(['mixer-rule-ratings-denial.yaml'], (mesh) => {
    it('x-user: john -> ratings is 403 (rule in istio-system applies to default); testuser passes', async () => {
      assert.equal(
        outcome(await mesh().check('reviewsV2', 'ratings', { headers: { 'x-user': 'john' } })).http,
        403,
      );
      assert.equal(
        outcome(await mesh().check('reviewsV2', 'ratings', { headers: { 'x-user': 'testuser' } })).http,
        200,
      );
      assert.equal(outcome(await mesh().check('reviewsV2', 'ratings')).http, 200);
    });
  });

  sample(['mixer-rule-ratings-ratelimit.yaml'], (mesh) => {
    it('reviews -> ratings: one per second, then 429; details unaffected by that override', async () => {
      const first = outcome(await mesh().check('reviewsV1', 'ratings'));
      assert.equal(first.http, 200);
      const second = outcome(await mesh().check('reviewsV1', 'ratings'));
      assert.equal(second.http, 429);
      assert.equal(
        second.body,
        'RESOURCE_EXHAUSTED:quotahandler.handler.istio-system:Quota is exhausted for: requestcountquota',
      );
      // Counters are per dimension set: reviews-v2 (sourceVersion v2) has its own 1/s.
      assert.equal(outcome(await mesh().check('reviewsV2', 'ratings')).http, 200);
      assert.equal(outcome(await mesh().check('reviewsV2', 'ratings')).http, 429);
      // productpage -> details falls under the 5000/s default.
      for (let i = 0; i < 5; i++)
        assert.equal(outcome(await mesh().check('productpage', 'details')).http, 200);
    });
  });

  sample(['mixer-rule-productpage-ratelimit.yaml'], (mesh) => {
    it('the third request to productpage within 5 s gets 429', async () => {
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push(outcome(await mesh().check('ingress', 'productpage')).http);
      assert.deepEqual(codes, [200, 200, 429]);
      // ratings is not bound by this QuotaSpecBinding.
      assert.equal(outcome(await mesh().check('reviewsV1', 'ratings')).http, 200);
    });
  });

  sample([path.join(repoRoot(), 'deploy', 'local', 'policy', 'deny-reviews-v3.yaml')], (mesh) => {
    it('the local example (deploy/local/policy) denies reviews-v3 -> ratings', async () => {
      assert.equal(
        outcome(await mesh().check('reviewsV3', 'ratings')).body,
        'PERMISSION_DENIED:denyreviewsv3handler.handler.default:Not allowed',
      );
      assert.equal(outcome(await mesh().check('reviewsV2', 'ratings')).http, 200);
    });
  });

  sample(['mixer-rule-kubernetesenv-telemetry.yaml', 'prometheus-oop-rule.yaml'], (mesh) => {
    it('telemetry-only samples load without policy rules or errors, and checks pass', async () => {
      const cfg = mesh().policy.config();
      assert.equal(cfg.rules.length, 0);
      assert.deepEqual(cfg.issues, []);
      assert.equal(outcome(await mesh().check('reviewsV3', 'ratings')).http, 200);
    });
  });
});
