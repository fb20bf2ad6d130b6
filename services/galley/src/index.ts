export {
  createGalley,
  type Galley,
  type GalleyAddresses,
  type GalleyOptions,
  servedCollections,
} from './galley.js';
export { Ingestor, type IngestReporter, type IngestSummary } from './ingest.js';
export { galleyFlags } from './options.js';
export { buildSnapshot, contentVersion, MESH_CONFIG_NAME, toMcpResource } from './snapshot.js';
export { type AcceptedResource, ResourceStore, resourceKey } from './store.js';
export { createWebhookServer, reviewConfig, type WebhookName, type WebhookServer } from './webhook.js';
