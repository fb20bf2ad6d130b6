// Authentication Policy / MeshPolicy (v1alpha1) -> inbound TLS chains and jwt_authn (Istio 1.4 semantics). Pure.
import { typed } from '@keel/proto';
import { buildSubsetKey, FilterNames } from '../model/names.js';
import type { ConfigEntry, Proxy as MeshProxy, PushContext, Service, ServicePort } from '../model/types.js';
import type { ListenerStats } from './listeners-common.js';
import type { EnvoyObject } from './route-spec.js';
import { istioCommonTlsContext, TLS_TRANSPORT_SOCKET } from './tls.js';

export const DOWNSTREAM_TLS_TYPE = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const JWT_AUTHN_TYPE = 'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
/** Inbound ALPN for mTLS chains (Istio util.ALPNHttp). */
export const ALPN_HTTP = ['h2', 'http/1.1'];
/** ALPN an Istio client offers (ISTIO_MUTUAL); PERMISSIVE chains match on it. */
export const ALPN_ISTIO_MATCH = ['istio'];

export type PeerMode = 'NONE' | 'STRICT' | 'PERMISSIVE';

interface PolicyTarget {
  name?: string;
  ports?: Array<{ number?: number; name?: string }>;
}

function targetMatches(t: PolicyTarget, service: Service, port: ServicePort): 'port' | 'name' | undefined {
  if (t.name !== service.name) return undefined;
  if (!t.ports || t.ports.length === 0) return 'name';
  return t.ports.some(
    (p) => (p.number !== undefined && Number(p.number) === port.port) || (p.name && p.name === port.name),
  )
    ? 'port'
    : undefined;
}

/**
 * The policy in force for a service port (Istio 1.4): a Policy in the service's namespace targeting
 * the service and port, then one targeting the service, then the namespace Policy `default`
 * (no targets), then the MeshPolicy `default`.
 */
export function authnPolicyFor(
  push: PushContext,
  service: Service,
  port: ServicePort,
): ConfigEntry | undefined {
  const inNs = push.configs('Policy').filter((p) => p.namespace === service.namespace);
  let byName: ConfigEntry | undefined;
  for (const p of inNs) {
    for (const t of (p.spec.targets ?? []) as PolicyTarget[]) {
      const m = targetMatches(t, service, port);
      if (m === 'port') return p;
      if (m === 'name' && !byName) byName = p;
    }
  }
  if (byName) return byName;
  const nsDefault = inNs.find(
    (p) => p.name === 'default' && ((p.spec.targets ?? []) as unknown[]).length === 0,
  );
  if (nsDefault) return nsDefault;
  return push.configs('MeshPolicy').find((p) => p.name === 'default');
}

/** Peer authentication mode: `mtls: {}` or `mtls: null` is STRICT in 1.4; `peerIsOptional` makes it PERMISSIVE. */
export function peerMode(policy: ConfigEntry | undefined): PeerMode {
  const peers = (policy?.spec.peers ?? []) as Array<Record<string, any>>;
  const peer = peers.find((p) => 'mtls' in p);
  if (!peer) return 'NONE';
  if (policy?.spec.peerIsOptional === true) return 'PERMISSIVE';
  return peer.mtls?.mode === 'PERMISSIVE' ? 'PERMISSIVE' : 'STRICT';
}

/** DownstreamTlsContext transport socket requiring a client certificate (files or SDS `default`/`ROOTCA`). */
export function inboundMtlsTransportSocket(push: PushContext, proxy: MeshProxy, http: boolean): EnvoyObject {
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: typed(DOWNSTREAM_TLS_TYPE, {
      common_tls_context: istioCommonTlsContext(proxy, push.mesh, [], http ? ALPN_HTTP : []),
      require_client_certificate: { value: true },
    }),
  };
}

/** A chain skeleton: its match and transport socket; the caller adds filters. */
export interface ChainTemplate {
  filter_chain_match?: EnvoyObject;
  transport_socket?: EnvoyObject;
}

/** NONE: one plaintext chain; STRICT: one mTLS chain; PERMISSIVE: ALPN `istio` mTLS chain + plaintext chain. */
export function inboundChainTemplates(
  push: PushContext,
  proxy: MeshProxy,
  mode: PeerMode,
  http: boolean,
): ChainTemplate[] {
  if (mode === 'NONE') return [{}];
  const socket = inboundMtlsTransportSocket(push, proxy, http);
  if (mode === 'STRICT') return [{ transport_socket: socket }];
  return [
    { filter_chain_match: { application_protocols: [...ALPN_ISTIO_MATCH] }, transport_socket: socket },
    {},
  ];
}

interface JwtSpec {
  issuer?: string;
  audiences?: string[];
  jwksUri?: string;
  jwks?: string;
  jwtHeaders?: string[];
  jwtParams?: string[];
  triggerRules?: Array<{ includedPaths?: StringMatch[]; excludedPaths?: StringMatch[] }>;
}
type StringMatch = { exact?: string; prefix?: string; suffix?: string; regex?: string };

/** `https://host[:port]/path` -> the jwks fetch cluster `outbound|port||host`. */
export function jwksCluster(uri: string): { host: string; port: number; cluster: string } | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return undefined;
  }
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  return { host: u.hostname, port, cluster: buildSubsetKey('outbound', port, '', u.hostname) };
}

function provider(push: PushContext, proxy: MeshProxy, jwt: JwtSpec, stats?: ListenerStats): EnvoyObject {
  const p: EnvoyObject = { issuer: jwt.issuer ?? '', forward: true, payload_in_metadata: jwt.issuer ?? '' };
  if (jwt.audiences?.length) p.audiences = [...jwt.audiences];
  if (jwt.jwks) {
    p.local_jwks = { inline_string: jwt.jwks };
  } else if (jwt.jwksUri) {
    const c = jwksCluster(jwt.jwksUri);
    const visible =
      c &&
      push
        .sidecarScope(proxy)
        .services.some((s) => s.hostname === c.host && s.ports.some((sp) => sp.port === c.port));
    if (!visible && stats) stats.jwksClusterMissing++;
    p.remote_jwks = {
      http_uri: { uri: jwt.jwksUri, cluster: c?.cluster ?? '', timeout: { seconds: 5, nanos: 0 } },
      cache_duration: { seconds: 300, nanos: 0 },
    };
  }
  if (jwt.jwtHeaders?.length) p.from_headers = jwt.jwtHeaders.map((name) => ({ name }));
  if (jwt.jwtParams?.length) p.from_params = [...jwt.jwtParams];
  return p;
}

function routeMatch(m: StringMatch): EnvoyObject | undefined {
  if (m.exact !== undefined) return { path: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.regex !== undefined) return { safe_regex: { regex: m.regex } };
  if (m.suffix !== undefined)
    return { safe_regex: { regex: `.*${m.suffix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` } };
  return undefined;
}

/** Requirement rules: excluded paths skip verification, included paths (or `/`) require a provider. */
function jwtRules(origins: Array<{ name: string; jwt: JwtSpec }>): EnvoyObject[] {
  const requires =
    origins.length === 1
      ? { provider_name: origins[0]!.name }
      : { requires_any: { requirements: origins.map((o) => ({ provider_name: o.name })) } };
  const rules: EnvoyObject[] = [];
  const triggers = origins.length === 1 ? (origins[0]!.jwt.triggerRules ?? []) : [];
  const included: EnvoyObject[] = [];
  for (const t of triggers) {
    for (const m of t.excludedPaths ?? []) {
      const match = routeMatch(m);
      if (match) rules.push({ match });
    }
    for (const m of t.includedPaths ?? []) {
      const match = routeMatch(m);
      if (match) included.push({ match, requires });
    }
  }
  if (included.length > 0) return [...rules, ...included];
  return [...rules, { match: { prefix: '/' }, requires }];
}

/**
 * jwt_authn for the policy's origins; undefined when there are none. Without istio_authn (no v3
 * equivalent), jwt_authn itself rejects requests lacking a valid token on the covered paths.
 */
export function jwtAuthnFilter(
  push: PushContext,
  proxy: MeshProxy,
  policy: ConfigEntry | undefined,
  stats?: ListenerStats,
): EnvoyObject | undefined {
  const origins = ((policy?.spec.origins ?? []) as Array<{ jwt?: JwtSpec }>)
    .map((o, i) => ({ name: `origins-${i}`, jwt: o.jwt }))
    .filter((o): o is { name: string; jwt: JwtSpec } => !!o.jwt);
  if (origins.length === 0) return undefined;
  const providers: EnvoyObject = {};
  for (const o of origins) providers[o.name] = provider(push, proxy, o.jwt, stats);
  return {
    name: FilterNames.jwtAuthn,
    typed_config: typed(JWT_AUTHN_TYPE, { providers, rules: jwtRules(origins) }),
  };
}
