import type { X509Certificate } from 'node:crypto';
import type { Result } from '@keel/runtime';

export const SPIFFE_SCHEME = 'spiffe://';

/** A workload identity: `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`. */
export interface SpiffeIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

const LABEL = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const TRUST_DOMAIN = /^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?$/;

/** The SPIFFE URI of an identity. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `${SPIFFE_SCHEME}${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** Parses Istio's SPIFFE form; anything else is an error naming what was wrong. */
export function parseSpiffeId(uri: string): Result<SpiffeIdentity, string> {
  if (uri.length > 512) return { ok: false, errors: 'SPIFFE ID longer than 512 characters' };
  if (!uri.startsWith(SPIFFE_SCHEME)) return { ok: false, errors: `'${uri}' does not start with spiffe://` };
  const parts = uri.slice(SPIFFE_SCHEME.length).split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa')
    return { ok: false, errors: `'${uri}' is not of the form spiffe://<trust-domain>/ns/<ns>/sa/<sa>` };
  const [trustDomain, , namespace, , serviceAccount] = parts as [string, string, string, string, string];
  if (!TRUST_DOMAIN.test(trustDomain)) return { ok: false, errors: `'${uri}': bad trust domain` };
  if (!LABEL.test(namespace) || !LABEL.test(serviceAccount))
    return { ok: false, errors: `'${uri}': namespace and service account must be DNS labels` };
  return { ok: true, value: { trustDomain, namespace, serviceAccount } };
}

/** Subject alternative names of a certificate, by kind (Node prints them as `URI:x, DNS:y`). */
export function subjectAltNames(cert: X509Certificate): { uris: string[]; dns: string[]; ips: string[] } {
  const out = { uris: [] as string[], dns: [] as string[], ips: [] as string[] };
  for (const entry of (cert.subjectAltName ?? '').split(/,\s*/)) {
    const i = entry.indexOf(':');
    if (i < 0) continue;
    const kind = entry.slice(0, i);
    const value = entry.slice(i + 1);
    if (kind === 'URI') out.uris.push(value);
    else if (kind === 'DNS') out.dns.push(value);
    else if (kind === 'IP Address') out.ips.push(value);
  }
  return out;
}

/** The SPIFFE URIs among a certificate's SANs. */
export function spiffeIdsOf(cert: X509Certificate): string[] {
  return subjectAltNames(cert).uris.filter((u) => u.startsWith(SPIFFE_SCHEME));
}
