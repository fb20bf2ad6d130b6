// MCP updates -> the ConfigStoreSnapshot generators read, plus the push request each update implies.
import {
  coreCollections,
  isCoreKind,
  kindByCollection,
  kinds,
  MESH_CONFIG_COLLECTION,
  meshConfigDefaults,
} from '@keel/config';
import type { McpResource, McpUpdate } from '@keel/mcp';
import { unpackStruct } from '@keel/proto';
import { err, ok, type Result } from '@keel/runtime';
import type { ConfigEntry, ConfigStoreSnapshot, MeshView } from '../model/types.js';

/** What changed since the last push: a full rebuild (with the kinds that changed) or endpoints of some hosts. */
export interface PushRequest {
  full: boolean;
  /** Kinds whose config changed (full pushes). */
  kinds: ReadonlySet<string>;
  /** Service FQDNs whose endpoints changed (EDS-only pushes). */
  edsHosts: ReadonlySet<string>;
  /** ms since epoch of the oldest change merged into this request. */
  start: number;
}

/** The `pilot_inbound_updates` type of a collection. */
export type InboundType = 'config' | 'eds' | 'svc';

const ENDPOINTS_COLLECTION = 'k8s/core/v1/endpoints';
const SERVICE_KINDS = new Set(['Service', 'ServiceEntry']);
const PILOT_GROUPS = new Set([
  'networking.istio.io',
  'authentication.istio.io',
  'rbac.istio.io',
  'security.istio.io',
]);

/** Every collection Pilot subscribes to: Istio networking/authn/rbac/security, core kinds and the mesh config. */
export function pilotCollections(): string[] {
  const istio = kinds.filter((k) => PILOT_GROUPS.has(k.group)).map((k) => k.collection);
  return [...new Set([...istio, ...coreCollections(), MESH_CONFIG_COLLECTION])];
}

/** Two PushRequests as one: full wins, kinds and hosts are unioned, the oldest start is kept. */
export function mergePushRequests(a: PushRequest, b: PushRequest): PushRequest {
  return {
    full: a.full || b.full,
    kinds: new Set([...a.kinds, ...b.kinds]),
    edsHosts: new Set([...a.edsHosts, ...b.edsHosts]),
    start: Math.min(a.start, b.start),
  };
}

/** `ns/name` -> [ns, name]; a bare name is cluster scoped (namespace ''). */
export function splitResourceName(name: string): [string, string] {
  const slash = name.indexOf('/');
  return slash < 0 ? ['', name] : [name.slice(0, slash), name.slice(slash + 1)];
}

/** One MCP resource as a ConfigEntry of `kind`. */
export function toConfigEntry(kind: string, r: McpResource): ConfigEntry {
  const [namespace, name] = splitResourceName(r.metadata.name);
  return {
    kind,
    name,
    namespace,
    spec: unpackStruct(r.body),
    labels: { ...(r.metadata.labels ?? {}) },
    annotations: { ...(r.metadata.annotations ?? {}) },
    createdAt: r.metadata.createTime ? r.metadata.createTime.getTime() : 0,
    version: r.metadata.version,
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const strList = (v: unknown, d: string[]): string[] => (Array.isArray(v) ? v.map((x) => String(x)) : [...d]);

/** A MeshConfig body merged over the code defaults, narrowed to the fields Pilot reads. */
export function meshViewOf(body: Record<string, unknown> = {}): MeshView {
  const m = { ...meshConfigDefaults(), ...body } as Record<string, unknown>;
  const d = meshConfigDefaults();
  const mode = (m.outboundTrafficPolicy as { mode?: string } | undefined)?.mode;
  const view: MeshView = {
    rootNamespace: str(m.rootNamespace) ?? d.rootNamespace,
    connectTimeout: str(m.connectTimeout) ?? d.connectTimeout,
    dnsRefreshRate: str(m.dnsRefreshRate) ?? d.dnsRefreshRate,
    proxyListenPort: Number(m.proxyListenPort ?? d.proxyListenPort),
    outboundTrafficPolicy: { mode: mode === 'REGISTRY_ONLY' ? 'REGISTRY_ONLY' : 'ALLOW_ANY' },
    enableAutoMtls: m.enableAutoMtls === true,
    disablePolicyChecks: m.disablePolicyChecks !== false,
    policyCheckFailOpen: m.policyCheckFailOpen === true,
    defaultServiceExportTo: strList(m.defaultServiceExportTo, d.defaultServiceExportTo),
    defaultVirtualServiceExportTo: strList(m.defaultVirtualServiceExportTo, d.defaultVirtualServiceExportTo),
    defaultDestinationRuleExportTo: strList(
      m.defaultDestinationRuleExportTo,
      d.defaultDestinationRuleExportTo,
    ),
  };
  const optional = {
    mixerCheckServer: str(m.mixerCheckServer),
    mixerReportServer: str(m.mixerReportServer),
    accessLogFile: str(m.accessLogFile),
    sdsUdsPath: str(m.sdsUdsPath),
    trustDomain: str(m.trustDomain),
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (view as any)[k] = v;
  if (m.localityLbSetting && typeof m.localityLbSetting === 'object')
    view.localityLbSetting = m.localityLbSetting as MeshView['localityLbSetting'];
  if (typeof m.disableMixerHttpReports === 'boolean')
    view.disableMixerHttpReports = m.disableMixerHttpReports;
  if (typeof m.disableClientPolicyChecks === 'boolean')
    (view as any).disableClientPolicyChecks = m.disableClientPolicyChecks;
  return view;
}

/**
 * Pilot's view of everything Galley serves. `apply` is called once per MCP response (in order);
 * `snapshot()` returns an immutable ConfigStoreSnapshot of the current state.
 */
export class ConfigStore {
  private readonly byKind = new Map<string, readonly ConfigEntry[]>();
  /** Per kind, the entries of `byKind` by MCP resource name. */
  private readonly named = new Map<string, Map<string, ConfigEntry>>();
  private mesh: MeshView = meshViewOf();
  private version = '0';
  private generation = 0;
  private cached?: ConfigStoreSnapshot;

  constructor(private readonly domain = 'cluster.local') {}

  /** Applies one collection's full state; returns the push it needs and the inbound-update type. */
  apply(update: McpUpdate): Result<{ request: PushRequest; type: InboundType }, string> {
    const now = Date.now();
    this.generation += 1;
    this.version = update.version || String(this.generation);
    this.cached = undefined;
    if (update.collection === MESH_CONFIG_COLLECTION) {
      const first = update.resources[0];
      this.mesh = meshViewOf(first ? unpackStruct(first.body) : {});
      return ok({ request: fullRequest(['MeshConfig'], now), type: 'config' });
    }
    const info = kindByCollection(update.collection);
    if (!info) return err(`unknown collection "${update.collection}"`);
    // A resource whose version did not change keeps its entry object: builds cache what they derive from
    // an entry by identity (push-context.ts, generate/routes.ts), so an unchanged one is not derived again.
    const held = this.named.get(info.kind);
    const fresh = new Map<string, ConfigEntry>();
    const list = update.resources.map((r) => {
      const prev = held?.get(r.metadata.name);
      const entry = prev && prev.version === r.metadata.version ? prev : toConfigEntry(info.kind, r);
      fresh.set(r.metadata.name, entry);
      return entry;
    });
    this.named.set(info.kind, fresh);
    this.byKind.set(info.kind, list);
    if (update.collection === ENDPOINTS_COLLECTION) {
      const hosts = [...update.changed.map((r) => r.metadata.name), ...update.removed].map((n) => {
        const [ns, name] = splitResourceName(n);
        return `${name}.${ns}.svc.${this.domain}`;
      });
      return ok({
        request: { full: false, kinds: new Set(), edsHosts: new Set(hosts), start: now },
        type: 'eds',
      });
    }
    const type: InboundType = SERVICE_KINDS.has(info.kind) || isCoreKind(info) ? 'svc' : 'config';
    return ok({ request: fullRequest([info.kind], now), type });
  }

  /** The current state; the same object until the next `apply`. */
  snapshot(): ConfigStoreSnapshot {
    this.cached ??= { version: this.version, byKind: new Map(this.byKind), mesh: this.mesh };
    return this.cached;
  }

  /** Every entry of every kind (for /debug/configz). */
  entries(): ConfigEntry[] {
    return [...this.byKind.values()].flat();
  }
}

function fullRequest(kindNames: string[], start: number): PushRequest {
  return { full: true, kinds: new Set(kindNames), edsHosts: new Set(), start };
}
