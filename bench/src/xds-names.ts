import protobuf from 'protobufjs';
import { ChunkReader, type Chunks } from './grpc-raw.js';

// Partial views of Envoy messages: only the fields that carry names, the rest is skipped on decode.
// Field numbers from envoy/config/{cluster,listener}/v3 and http_connection_manager/v3.
const lite = protobuf.Root.fromJSON({
  nested: {
    AnyLite: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
    EdsClusterConfigLite: { fields: { service_name: { type: 'string', id: 2 } } },
    ClusterLite: {
      fields: {
        name: { type: 'string', id: 1 },
        type: { type: 'int32', id: 2 },
        eds_cluster_config: { type: 'EdsClusterConfigLite', id: 3 },
      },
    },
    FilterLite: { fields: { name: { type: 'string', id: 1 }, typed_config: { type: 'AnyLite', id: 4 } } },
    FilterChainLite: { fields: { filters: { rule: 'repeated', type: 'FilterLite', id: 3 } } },
    ApiListenerLite: { fields: { api_listener: { type: 'AnyLite', id: 1 } } },
    ListenerLite: {
      fields: {
        name: { type: 'string', id: 1 },
        filter_chains: { rule: 'repeated', type: 'FilterChainLite', id: 3 },
        api_listener: { type: 'ApiListenerLite', id: 19 },
        default_filter_chain: { type: 'FilterChainLite', id: 25 },
      },
    },
    RdsLite: { fields: { route_config_name: { type: 'string', id: 2 } } },
    HcmLite: { fields: { rds: { type: 'RdsLite', id: 3 } } },
  },
});

const AnyLiteType = lite.lookupType('AnyLite');
const ClusterLite = lite.lookupType('ClusterLite');
const ListenerLite = lite.lookupType('ListenerLite');
const HcmLite = lite.lookupType('HcmLite');
const EDS = 3;
const HCM_URL =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

type AnyLite = { type_url?: string; value?: Uint8Array };

/** A DiscoveryResponse with each resource left as its encoded google.protobuf.Any (never unpacked). */
export interface DecodedResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  /** How many resources the response holds. */
  count: number;
  /** Their total encoded size. */
  resourceBytes: number;
  /** The resources' Any bytes, only when asked for (see readResponse). */
  resources: Uint8Array[];
}

/**
 * Reads envoy.service.discovery.v3.DiscoveryResponse (fields 1, 2, 4, 5) from the chunks it arrived in.
 * Every resource is walked and counted; their bytes are collected only when `keep(type_url)` (the type
 * URL comes after the resources on the wire, so that is a second pass), never copied otherwise.
 */
export function readResponse(message: Chunks, keep: (typeUrl: string) => boolean): DecodedResponse {
  const out: DecodedResponse = {
    version_info: '',
    type_url: '',
    nonce: '',
    count: 0,
    resourceBytes: 0,
    resources: [],
  };
  const r = new ChunkReader(message);
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire !== 2) {
      r.skipField(wire);
      continue;
    }
    const length = r.varint();
    if (field === 2) {
      out.count += 1;
      out.resourceBytes += length;
      r.skip(length);
    } else if (field === 1 || field === 4 || field === 5) {
      const text = r.bytes(length).toString('utf8');
      if (field === 1) out.version_info = text;
      else if (field === 4) out.type_url = text;
      else out.nonce = text;
    } else r.skip(length);
  }
  if (out.count === 0 || !keep(out.type_url)) return out;
  const again = new ChunkReader(message);
  while (!again.done) {
    const tag = again.varint();
    if (tag === 0x12) out.resources.push(again.bytes(again.varint()));
    else again.skipField(tag & 7);
  }
  return out;
}

/** The message bytes inside an encoded Any. */
export function unwrapAny(anyBytes: Uint8Array): Uint8Array {
  return (AnyLiteType.decode(anyBytes) as unknown as AnyLite).value ?? new Uint8Array();
}

/** EDS service names of the EDS clusters among encoded Cluster messages. */
export function edsNamesOf(clusters: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const bytes of clusters) {
    const c = ClusterLite.decode(bytes) as unknown as {
      name?: string;
      type?: number;
      eds_cluster_config?: { service_name?: string };
    };
    if (c.type === EDS) out.push(c.eds_cluster_config?.service_name || (c.name ?? ''));
  }
  return out;
}

function rdsOf(any: AnyLite | undefined | null): string | undefined {
  if (!any || any.type_url !== HCM_URL || !any.value) return undefined;
  const hcm = HcmLite.decode(any.value) as unknown as { rds?: { route_config_name?: string } };
  return hcm.rds?.route_config_name || undefined;
}

/** RDS route names used by HCMs in encoded Listener messages (filter chains, default chain, api_listener). */
export function rdsNamesOf(listeners: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const bytes of listeners) {
    const l = ListenerLite.decode(bytes) as unknown as {
      filter_chains?: Array<{ filters?: Array<{ typed_config?: AnyLite }> }>;
      default_filter_chain?: { filters?: Array<{ typed_config?: AnyLite }> };
      api_listener?: { api_listener?: AnyLite };
    };
    const chains = [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])];
    const anys = chains.flatMap((c) => (c.filters ?? []).map((f) => f.typed_config));
    anys.push(l.api_listener?.api_listener);
    for (const a of anys) {
      const name = rdsOf(a);
      if (name) out.push(name);
    }
  }
  return out;
}
