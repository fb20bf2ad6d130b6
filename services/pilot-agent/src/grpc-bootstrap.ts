// The xDS bootstrap a proxyless gRPC application reads (GRPC_XDS_BOOTSTRAP): Pilot's address, the
// node, file_watcher certificate providers over --output-certs, and the server listener template.
import path from 'node:path';
import type { ProxyNode } from './node.js';

export const SERVER_LISTENER_TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';

export interface GrpcBootstrapOptions {
  node: ProxyNode;
  discoveryAddress: string;
  /** Directory with cert-chain.pem, key.pem, root-cert.pem (when certificates are written). */
  certDir?: string;
  /** How often gRPC re-reads the files (default 300 s, as Istio's agent writes it). */
  refreshIntervalSeconds?: number;
}

export function buildGrpcBootstrap(o: GrpcBootstrapOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {
    xds_servers: [
      {
        server_uri: o.discoveryAddress,
        channel_creds: [{ type: 'insecure' }],
        server_features: ['xds_v3'],
      },
    ],
    node: {
      id: o.node.id,
      cluster: o.node.cluster,
      metadata: { ...o.node.metadata, GENERATOR: 'grpc' },
      locality: {},
    },
    server_listener_resource_name_template: SERVER_LISTENER_TEMPLATE,
  };
  if (o.certDir) {
    out.certificate_providers = {
      default: {
        plugin_name: 'file_watcher',
        config: {
          certificate_file: path.join(o.certDir, 'cert-chain.pem'),
          private_key_file: path.join(o.certDir, 'key.pem'),
          ca_certificate_file: path.join(o.certDir, 'root-cert.pem'),
          refresh_interval: `${o.refreshIntervalSeconds ?? 300}s`,
        },
      },
    };
  }
  return out;
}
