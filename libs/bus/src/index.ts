export {
  type Bus,
  type BusOptions,
  type BusStats,
  type BusStatus,
  connectBus,
  type EventOf,
  type SubscribeOptions,
} from './bus.js';
export type { BusKv, KvChange, KvValue } from './kv.js';
export {
  type AccessLogEntry,
  type CertIssuedEvent,
  type ConfigAcceptedEvent,
  type ConfigRejectedEvent,
  type PilotConfigDumpReply,
  type PilotStatusReply,
  type PolicyDeniedEvent,
  type ProxySyncStatus,
  type RootRotatedEvent,
  type Subject,
  type SubjectEvents,
  Subjects,
  type XdsNackEvent,
  type XdsRejectedEvent,
} from './subjects.js';
