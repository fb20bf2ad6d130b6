// Upstream TLS (DestinationRule `tls`) -> Envoy v3 transport_socket with an UpstreamTlsContext.
import { isIP } from 'node:net';
import { typed } from '@keel/proto';
import { CertFiles, SdsDefaultSecret, SdsRootSecret } from '../model/names.js';
import type { Proxy as MeshProxy, MeshView } from '../model/types.js';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const UPSTREAM_TLS_TYPE = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const DEFAULT_SDS_UDS_PATH = 'unix:/var/run/sds/uds_path';
/** Istio 1.4 ALPN for ISTIO_MUTUAL clusters (`util.go` ALPNInMesh / ALPNInMeshH2). */
export const ALPN_IN_MESH = ['istio'];
export const ALPN_IN_MESH_H2 = ['istio', 'h2'];
export const ALPN_H2_ONLY = ['h2'];

/** The DestinationRule `tls` block: the normalized shape from libs/config's model. */
import type { TlsSettings } from '@keel/config';

export type { TlsSettings };

export interface UpstreamTlsTarget {
  proxy: MeshProxy;
  mesh: MeshView;
  /** Service host, the default SNI for SIMPLE/MUTUAL. */
  host: string;
  /** `outbound_.<port>_.<subset>_.<host>`, the SNI for ISTIO_MUTUAL. */
  istioSni: string;
  /** SPIFFE identities of the service, the SANs for ISTIO_MUTUAL. */
  serviceAccounts: readonly string[];
  http2: boolean;
}

/** SDS over pilot-agent's UDS, as Istio 1.4 inlines it (google_grpc, stat prefix `sdsstat`). */
export function sdsConfigSource(udsPath: string): Record<string, unknown> {
  return {
    api_config_source: {
      api_type: 'GRPC',
      transport_api_version: 'V3',
      grpc_services: [
        {
          google_grpc: {
            target_uri: udsPath,
            stat_prefix: 'sdsstat',
            channel_credentials: { local_credentials: {} },
          },
        },
      ],
    },
    resource_api_version: 'V3',
  };
}

/** The SAN type of a subject alt name as written: URI (`spiffe://...`), IP, email, else DNS. */
function sanType(san: string): 'URI' | 'IP_ADDRESS' | 'EMAIL' | 'DNS' {
  if (san.includes('://')) return 'URI';
  if (isIP(san) !== 0) return 'IP_ADDRESS';
  return san.includes('@') ? 'EMAIL' : 'DNS';
}

/**
 * SAN matching for a validation context. Envoy proxies get `match_typed_subject_alt_names` (the
 * untyped `match_subject_alt_names` is deprecated); proxyless gRPC clients (grpc-js-xds) read
 * only the untyped field, so they keep it.
 */
export function sanValidation(
  proxy: Pick<MeshProxy, 'generator'>,
  sans: readonly string[],
): Record<string, unknown> {
  if (sans.length === 0) return {};
  if (proxy.generator === 'grpc') return { match_subject_alt_names: sans.map((exact) => ({ exact })) };
  return {
    match_typed_subject_alt_names: sans.map((exact) => ({ san_type: sanType(exact), matcher: { exact } })),
  };
}

/** Bootstrap certificate provider instance names (pilot-agent's gRPC bootstrap writes `default`). */
export const GRPC_IDENTITY_PROVIDER = 'default';
export const GRPC_ROOT_CERT_NAME = 'ROOTCA';

/**
 * A proxyless gRPC workload's identity and roots come from its bootstrap's `certificate_providers`
 * (file_watcher over pilot-agent's --output-certs): instance `default` for both (the file_watcher
 * plugin holds the root file too; a node may name another roots instance with metadata
 * `GRPC_ROOT_PROVIDER`, for example `ROOTCA`). gRPC ignores ALPN here.
 */
function grpcCommonTlsContext(proxy: MeshProxy, sans: readonly string[]): Record<string, unknown> {
  const raw = proxy.metadata.raw?.GRPC_ROOT_PROVIDER;
  const roots = typeof raw === 'string' && raw !== '' ? raw : GRPC_IDENTITY_PROVIDER;
  return {
    tls_certificate_provider_instance: {
      instance_name: GRPC_IDENTITY_PROVIDER,
      certificate_name: SdsDefaultSecret,
    },
    validation_context: {
      ca_certificate_provider_instance: { instance_name: roots, certificate_name: GRPC_ROOT_CERT_NAME },
      ...sanValidation(proxy, sans),
    },
  };
}

/**
 * The workload's own identity and the mesh root: SDS secrets `default`/`ROOTCA` when the proxy's
 * metadata SDS is set, else the /etc/certs files. Shared by upstream and downstream contexts.
 */
export function istioCommonTlsContext(
  proxy: MeshProxy,
  mesh: MeshView,
  sans: readonly string[],
  alpn: readonly string[],
): Record<string, unknown> {
  if (proxy.generator === 'grpc') return grpcCommonTlsContext(proxy, sans);
  const base: Record<string, unknown> = alpn.length > 0 ? { alpn_protocols: [...alpn] } : {};
  if (proxy.metadata.SDS) {
    const sds = sdsConfigSource(mesh.sdsUdsPath || DEFAULT_SDS_UDS_PATH);
    return {
      ...base,
      tls_certificate_sds_secret_configs: [{ name: SdsDefaultSecret, sds_config: sds }],
      combined_validation_context: {
        default_validation_context: sanValidation(proxy, sans),
        validation_context_sds_secret_config: { name: SdsRootSecret, sds_config: sds },
      },
    };
  }
  return {
    ...base,
    tls_certificates: [
      { certificate_chain: { filename: CertFiles.certChain }, private_key: { filename: CertFiles.key } },
    ],
    validation_context: {
      trusted_ca: { filename: CertFiles.root },
      ...sanValidation(proxy, sans),
    },
  };
}

function userTlsContext(tls: TlsSettings, target: UpstreamTlsTarget): Record<string, unknown> {
  const sans = tls.subjectAltNames ?? [];
  const common: Record<string, unknown> = target.http2 ? { alpn_protocols: [...ALPN_H2_ONLY] } : {};
  if (tls.caCertificates) {
    common.validation_context = {
      trusted_ca: { filename: tls.caCertificates },
      ...sanValidation(target.proxy, sans),
    };
  }
  if (tls.mode === 'MUTUAL') {
    common.tls_certificates = [
      {
        certificate_chain: { filename: tls.clientCertificate ?? '' },
        private_key: { filename: tls.privateKey ?? '' },
      },
    ];
  }
  return { common_tls_context: common, sni: tls.sni || target.host };
}

/** DestinationRule TLS -> transport_socket, or undefined for DISABLE / no TLS. */
export function upstreamTransportSocket(
  tls: TlsSettings | undefined,
  target: UpstreamTlsTarget,
): Record<string, unknown> | undefined {
  if (!tls?.mode || tls.mode === 'DISABLE') return undefined;
  let context: Record<string, unknown>;
  if (tls.mode === 'ISTIO_MUTUAL') {
    const alpn = target.http2 ? ALPN_IN_MESH_H2 : ALPN_IN_MESH;
    context = {
      common_tls_context: istioCommonTlsContext(target.proxy, target.mesh, target.serviceAccounts, alpn),
      ...(target.proxy.generator === 'grpc' ? {} : { sni: target.istioSni }),
    };
  } else {
    context = userTlsContext(tls, target);
  }
  return { name: TLS_TRANSPORT_SOCKET, typed_config: typed(UPSTREAM_TLS_TYPE, context) };
}
