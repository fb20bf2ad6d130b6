// Virtual host domains (Istio 1.4 httproute.go generateVirtualHostDomains / generateAltVirtualHosts).
import type { Service } from '../model/types.js';

/** `host:port`. */
export function domainName(host: string, port: number): string {
  return `${host}:${port}`;
}

/**
 * Short names of `fqdn` relative to the proxy's DNS domain: the part not shared with the domain,
 * then that part plus each shorter suffix of the shared domain (`reviews`, `reviews.default.svc.cluster`,
 * `reviews.default.svc`, `reviews.default`). Empty when nothing is shared.
 */
export function altHostNames(fqdn: string, proxyDomain: string): string[] {
  const host = fqdn.split('.').reverse();
  const domain = proxyDomain.split('.').reverse();
  let shared = 0;
  while (shared < Math.min(host.length, domain.length) && host[shared] === domain[shared]) shared++;
  if (shared === 0 || shared === host.length) return [];
  const unique = fqdn
    .split('.')
    .slice(0, host.length - shared)
    .join('.');
  const sharedSuffix = host.slice(0, shared).reverse().join('.');
  const out = [unique];
  for (let i = sharedSuffix.length - 1; i > 0; i--) {
    if (sharedSuffix[i] === '.') out.push(`${unique}.${sharedSuffix.slice(0, i)}`);
  }
  return out;
}

/**
 * How many trailing labels `fqdn` and `proxyDomain` share (what `altHostNames` reads of the proxy's
 * domain), counted in place: hosts sharing this count with the proxy get the same domains whatever the
 * proxy's namespace, so their virtual hosts can be shared between scopes.
 */
export function sharedLabels(fqdn: string, proxyDomain: string): number {
  let i = fqdn.length - 1;
  let j = proxyDomain.length - 1;
  let labels = 0;
  while (i >= 0 && j >= 0 && fqdn.charCodeAt(i) === proxyDomain.charCodeAt(j)) {
    if (fqdn.charCodeAt(i) === DOT) labels += 1;
    i -= 1;
    j -= 1;
  }
  // The label being compared counts when both sides reached its start (a dot or the string's start).
  const boundary = (k: number, str: string) => k < 0 || str.charCodeAt(k) === DOT;
  if (boundary(i, fqdn) && boundary(j, proxyDomain) && !(i === fqdn.length - 1)) labels += 1;
  return labels;
}
const DOT = 46;

function isPlainIp(address: string): boolean {
  return address !== '' && address !== '0.0.0.0' && !address.includes('/');
}

/** Domains of a sidecar virtual host: fqdn, short names, ClusterIP, each with and without `:port`. */
export function virtualHostDomains(service: Service, port: number, proxyDomain: string): string[] {
  const out: string[] = [];
  const names = [service.hostname, ...altHostNames(service.hostname, proxyDomain)];
  if (isPlainIp(service.address)) names.push(service.address);
  for (const n of names) out.push(n, domainName(n, port));
  return out;
}
