// Who is calling CreateCertificate: a client certificate the TLS layer verified against the trust
// bundle (its SPIFFE URI SANs), a Kubernetes service-account JWT checked with TokenReview, or a
// bearer token listed in --token-file. Tried in that order, as Istio 1.4's authenticators are.
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type * as grpc from '@grpc/grpc-js';
import { kubeRequest } from '@keel/kube';
import { spiffeId, spiffeIdsOf } from '@keel/pki';
import type { KubeConfig } from '@kubernetes/client-node';

export interface Caller {
  identities: string[];
  via: 'certificate' | 'token-file' | 'tokenreview';
}

/** Why a caller was refused; `idExtraction` marks a credential that was valid but named nobody. */
export interface AuthFailure {
  reason: string;
  idExtraction?: boolean;
}

export type AuthOutcome = { ok: true; value: Caller } | { ok: false; errors: AuthFailure };

export interface Authenticator {
  authenticate(call: grpc.ServerUnaryCall<unknown, unknown>): Promise<AuthOutcome>;
}

/**
 * Token lines `TOKEN NAMESPACE SERVICEACCOUNT`; the file is re-read when its mtime changes, checked
 * at most once a second (a stat per call was a tenth of the signing time).
 */
export function tokenFileVerifier(file: string, trustDomain: string) {
  let cached: { mtimeMs: number; tokens: Map<string, string> } | undefined;
  let checkedAt = 0;
  return async (token: string): Promise<string | undefined> => {
    if (cached && Date.now() - checkedAt < 1000) return cached.tokens.get(token);
    checkedAt = Date.now();
    const st = await stat(file);
    if (!cached || cached.mtimeMs !== st.mtimeMs) {
      if (st.size > 1024 * 1024) throw new Error(`${file} is larger than 1 MiB`);
      const tokens = new Map<string, string>();
      for (const raw of (await readFile(file, 'utf8')).split('\n')) {
        const line = raw.trim();
        if (line === '' || line.startsWith('#')) continue;
        const [t, ns, sa] = line.split(/\s+/);
        if (t && ns && sa) tokens.set(t, spiffeId(trustDomain, ns, sa));
      }
      cached = { mtimeMs: st.mtimeMs, tokens };
    }
    return cached.tokens.get(token);
  };
}

/** TokenReview (authentication.k8s.io/v1) for a service-account JWT; resolves the SPIFFE id. */
export function tokenReviewVerifier(kubeConfig: KubeConfig, trustDomain: string) {
  return async (token: string): Promise<{ id?: string; reason?: string }> => {
    const res = await kubeRequest(kubeConfig, {
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/tokenreviews',
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, audiences: ['istio-ca'] },
      },
      timeoutMs: 5000,
    });
    if (res.status !== 200 && res.status !== 201) return { reason: `TokenReview failed: HTTP ${res.status}` };
    const status = (
      res.body as { status?: { authenticated?: boolean; error?: string; user?: { username?: string } } }
    ).status;
    if (!status?.authenticated)
      return { reason: `token rejected by TokenReview${status?.error ? `: ${status.error}` : ''}` };
    const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(status.user?.username ?? '');
    if (!m) return { reason: `TokenReview user '${status.user?.username ?? ''}' is not a service account` };
    return { id: spiffeId(trustDomain, m[1]!, m[2]!) };
  };
}

export interface AuthenticatorOptions {
  tokenFile?: (token: string) => Promise<string | undefined>;
  tokenReview?: (token: string) => Promise<{ id?: string; reason?: string }>;
}

function bearerToken(call: grpc.ServerUnaryCall<unknown, unknown>): string | undefined {
  const values = call.metadata.get('authorization');
  const v = values[0];
  if (typeof v !== 'string') return undefined;
  const m = /^Bearer\s+(\S{1,8192})$/i.exec(v.trim());
  return m ? m[1] : '';
}

export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  return {
    async authenticate(call) {
      const peer = call.getAuthContext()?.sslPeerCertificate;
      if (peer?.raw) {
        const ids = spiffeIdsOf(new X509Certificate(peer.raw));
        if (ids.length > 0) return { ok: true, value: { identities: ids, via: 'certificate' } };
        return {
          ok: false,
          errors: { reason: 'the client certificate has no SPIFFE URI SAN', idExtraction: true },
        };
      }
      const token = bearerToken(call);
      if (token === undefined)
        return {
          ok: false,
          errors: { reason: 'no client certificate verified by the CA and no bearer token' },
        };
      if (token === '')
        return { ok: false, errors: { reason: 'the authorization header is not "Bearer <token>"' } };
      if (opts.tokenReview) {
        const r = await opts
          .tokenReview(token)
          .catch((e: Error) => ({ reason: `TokenReview failed: ${e.message}`, id: undefined }));
        if (r.id) return { ok: true, value: { identities: [r.id], via: 'tokenreview' } };
        if (!opts.tokenFile) return { ok: false, errors: { reason: r.reason ?? 'token rejected' } };
      }
      if (opts.tokenFile) {
        const id = await opts.tokenFile(token).catch(() => undefined);
        if (id) return { ok: true, value: { identities: [id], via: 'token-file' } };
        return { ok: false, errors: { reason: 'the bearer token is not valid' } };
      }
      return {
        ok: false,
        errors: { reason: 'bearer tokens are not accepted (no --token-file, no TokenReview)' },
      };
    },
  };
}
