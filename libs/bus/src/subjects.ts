/** Every NATS subject Keel uses; nothing else spells them. */
export const Subjects = {
  /** Galley accepted a config resource (validated, part of the next snapshot). */
  configAccepted: 'keel.events.config.accepted',
  /** Galley rejected a config resource; the last good version stays in use. */
  configRejected: 'keel.events.config.rejected',
  /** A proxy NACKed an xDS push. */
  xdsNack: 'keel.events.xds.nack',
  /** Pilot repaired or left out generated config that Envoy would reject. */
  xdsRejected: 'keel.events.xds.rejected',
  /** Citadel signed a workload certificate. */
  certIssued: 'keel.events.ca.issued',
  /** Citadel's root certificate changed. */
  rootRotated: 'keel.events.ca.root',
  /** Request/reply: every pilot replica answers with its connected proxies. */
  pilotStatus: 'keel.pilot.status',
  /** Request/reply `{proxyID}`: the pilot replica serving that proxy answers with its Envoy config dump. */
  pilotConfigDump: 'keel.pilot.config_dump',
  /** Access-log entries from mixer-telemetry (also captured by a JetStream stream). */
  accessLog: 'keel.accesslog',
  /** mixer-policy denied a Check (sampled: at most a few per second per replica). */
  policyDenied: 'keel.events.policy.denied',
  /** Wildcard for all control-plane events. */
  allEvents: 'keel.events.>',
} as const;

export type Subject = (typeof Subjects)[keyof typeof Subjects];

/** Times are RFC 3339 strings (`new Date().toISOString()`). */
export interface ConfigAcceptedEvent {
  source: string;
  kind: string;
  namespace: string;
  name: string;
  resourceVersion?: string;
  time: string;
}

export interface ConfigRejectedEvent {
  source: string;
  kind: string;
  namespace: string;
  name: string;
  reason: string;
  file?: string;
  line?: number;
  time: string;
}

/** A part of a proxy's generated config repaired or left out before sending (Envoy would reject it). */
export interface XdsRejectedEvent {
  /** The config key (proxies sharing it got the same output). */
  proxyKey: string;
  type: 'cluster' | 'listener' | 'route';
  resource: string;
  unit: string;
  /** The config object at fault, e.g. `VirtualService default/reviews`. */
  config: string;
  reason: string;
  action: 'repaired' | 'removed' | 'unpatched';
  pilot: string;
  time: string;
}

export interface XdsNackEvent {
  /** The proxy's node id. */
  proxy: string;
  typeUrl: string;
  nonce: string;
  error: string;
  /** The pilot replica that served the stream. */
  pilot: string;
  time: string;
}

export interface CertIssuedEvent {
  /** SPIFFE identity in the certificate's URI SAN. */
  identity: string;
  serialNumber: string;
  notAfter: string;
  time: string;
}

export interface RootRotatedEvent {
  /** SHA-256 fingerprints of the previous and the new root. */
  previousFingerprint?: string;
  fingerprint: string;
  notAfter: string;
  time: string;
}

/** One proxy's sync state as a pilot replica sees it (keelctl proxy-status). */
export interface ProxySyncStatus {
  proxy: string;
  cds: string;
  lds: string;
  eds: string;
  rds: string;
  version?: string;
}

export interface PilotStatusReply {
  pilot: string;
  proxies: ProxySyncStatus[];
}

/** keel.pilot.config_dump: `dump` is an Envoy admin v3 ConfigDump (proto JSON) when `ok`. */
export type PilotConfigDumpReply =
  | { pilot: string; ok: true; dump: { configs: Record<string, unknown>[] } }
  | { pilot: string; ok: false; error: string };

export interface AccessLogEntry {
  time: string;
  [attribute: string]: unknown;
}

/** A sampled policy denial from mixer-policy. */
export interface PolicyDeniedEvent {
  source: string;
  replica: string;
  time: string;
  /** google.rpc.Code name and the HTTP status Envoy returns. */
  code: string;
  httpStatus: number;
  /** `<handler>.<kind>.<namespace>:<message>`. */
  message: string;
  sourceUid?: string;
  destinationService?: string;
  /** Denials not published since the previous event (sampling). */
  skipped: number;
}

/** Payload type published on each subject. */
export interface SubjectEvents {
  'keel.events.config.accepted': ConfigAcceptedEvent;
  'keel.events.config.rejected': ConfigRejectedEvent;
  'keel.events.xds.nack': XdsNackEvent;
  'keel.events.xds.rejected': XdsRejectedEvent;
  'keel.events.ca.issued': CertIssuedEvent;
  'keel.events.ca.root': RootRotatedEvent;
  'keel.accesslog': AccessLogEntry;
  'keel.events.policy.denied': PolicyDeniedEvent;
}
