// Which builds a change invalidates, derived from the generators' declarations (generate/generators.ts).
import { createHash } from 'node:crypto';
import { CONFIG_KINDS, type ConfigKind, GENERATORS } from '../generate/generators.js';
import type { PushContext } from '../model/types.js';
import type { PushRequest } from '../server/config-store.js';

const union = (pick: (g: (typeof GENERATORS)[number]) => boolean): ReadonlySet<ConfigKind> =>
  new Set(GENERATORS.filter(pick).flatMap((g) => g.reads));

/** Kinds a scope's clusters or endpoints read: a change of any other kind leaves them as they are. */
export const SCOPE_OUTBOUND_KINDS = union(
  (g) => g.part === 'scope' && (g.output === 'clusters' || g.output === 'endpoints'),
);

/** Kinds a splitting sidecar's own (inbound) part reads. */
export const OWN_KINDS = union((g) => g.part === 'own');

/** Kinds some generator reads but no scope cluster or endpoint generator does (e.g. VirtualService, Gateway). */
export const ROUTE_ONLY_KINDS: ReadonlySet<ConfigKind> = new Set(
  CONFIG_KINDS.filter((k) => union(() => true).has(k) && !SCOPE_OUTBOUND_KINDS.has(k)),
);

/** A full push whose changed kinds are all route-only (an empty set means everything changed). */
export function routesOnly(req: PushRequest): boolean {
  return (
    req.full &&
    req.kinds.size > 0 &&
    req.edsHosts.size === 0 &&
    [...req.kinds].every((k) => ROUTE_ONLY_KINDS.has(k as ConfigKind))
  );
}

const ISTIO_OWN_KINDS = [...OWN_KINDS].filter(
  (k) => !['Service', 'Endpoints', 'Pod', 'Namespace'].includes(k),
);

/** Digests of registry indexes by object: a push reusing the last registry does not serialize it again. */
const digests = new WeakMap<object, string>();

function digestOf(o: object, value: () => unknown): string {
  let d = digests.get(o);
  if (d === undefined) {
    d = createHash('sha256').update(JSON.stringify(value())).digest('hex');
    digests.set(o, d);
  }
  return d;
}

/**
 * Hash of everything in `push` an own part can read: the mesh, the indexes built from Kubernetes kinds and
 * the configs of `OWN_KINDS`. Equal hashes: every proxy's own part is as in the last push.
 */
export function ownInputs(push: PushContext): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([push.mesh, push.domain, push.trustDomain]));
  h.update(digestOf(push.services, () => push.services));
  h.update(digestOf(push.endpointsByHost, () => [...push.endpointsByHost]));
  h.update(digestOf(push.workloadsByIp, () => [...push.workloadsByIp]));
  h.update(JSON.stringify([...push.namespaceLabels]));
  h.update(JSON.stringify(ISTIO_OWN_KINDS.map((k) => push.configs(k))));
  return h.digest('hex');
}
