// Gateway server TLS -> DownstreamTlsContext transport socket (Istio 1.4 buildGatewayListenerTLSContext).
import { typed } from '@keel/proto';
import type { MeshView, Proxy as ProxyNode } from '../model/types.js';
import type { ServerTls } from './gateway-merge.js';
import type { EnvoyObject } from './route-spec.js';
import { istioCommonTlsContext, sanValidation, sdsConfigSource, TLS_TRANSPORT_SOCKET } from './tls.js';

export const DOWNSTREAM_TLS_TYPE = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
/** The gateway SDS agent's socket (Istio 1.4 IngressGatewaySdsUdsPath). */
export const GATEWAY_SDS_UDS_PATH = 'unix:/var/run/ingress_gateway/sds';
/** Suffix of the CA secret that pairs with a credentialName. */
export const GATEWAY_SDS_CA_SUFFIX = '-cacert';
const ALPN_HTTP = ['h2', 'http/1.1'];

const TLS_VERSIONS: Record<string, string> = {
  TLS_AUTO: 'TLS_AUTO',
  TLSV1_0: 'TLSv1_0',
  TLSV1_1: 'TLSv1_1',
  TLSV1_2: 'TLSv1_2',
  TLSV1_3: 'TLSv1_3',
};

function validation(tls: ServerTls, trustedCa?: EnvoyObject): EnvoyObject | undefined {
  const out: EnvoyObject = {};
  if (trustedCa) out.trusted_ca = trustedCa;
  Object.assign(out, sanValidation({ generator: 'envoy' }, tls.subjectAltNames ?? []));
  if (tls.verifyCertificateSpki?.length) out.verify_certificate_spki = [...tls.verifyCertificateSpki];
  if (tls.verifyCertificateHash?.length) out.verify_certificate_hash = [...tls.verifyCertificateHash];
  return Object.keys(out).length > 0 ? out : undefined;
}

function credentialContext(tls: ServerTls): EnvoyObject {
  const sds = sdsConfigSource(GATEWAY_SDS_UDS_PATH);
  const common: EnvoyObject = {
    alpn_protocols: [...ALPN_HTTP],
    tls_certificate_sds_secret_configs: [{ name: tls.credentialName, sds_config: sds }],
  };
  if (tls.mode === 'MUTUAL') {
    common.combined_validation_context = {
      default_validation_context: validation(tls) ?? {},
      validation_context_sds_secret_config: {
        name: tls.credentialName + GATEWAY_SDS_CA_SUFFIX,
        sds_config: sds,
      },
    };
  } else {
    const v = validation(tls);
    if (v) common.validation_context = v;
  }
  return common;
}

function fileContext(tls: ServerTls): EnvoyObject {
  const common: EnvoyObject = {
    alpn_protocols: [...ALPN_HTTP],
    tls_certificates: [
      {
        certificate_chain: { filename: tls.serverCertificate ?? '' },
        private_key: { filename: tls.privateKey ?? '' },
      },
    ],
  };
  const v = validation(tls, tls.caCertificates ? { filename: tls.caCertificates } : undefined);
  if (v) common.validation_context = v;
  return common;
}

function tlsParams(tls: ServerTls): EnvoyObject | undefined {
  const min = TLS_VERSIONS[tls.minProtocolVersion ?? 'TLS_AUTO'] ?? 'TLS_AUTO';
  const max = TLS_VERSIONS[tls.maxProtocolVersion ?? 'TLS_AUTO'] ?? 'TLS_AUTO';
  if (min === 'TLS_AUTO' && max === 'TLS_AUTO' && !tls.cipherSuites?.length) return undefined;
  const out: EnvoyObject = { tls_minimum_protocol_version: min, tls_maximum_protocol_version: max };
  if (tls.cipherSuites?.length) out.cipher_suites = [...tls.cipherSuites];
  return out;
}

/**
 * DownstreamTlsContext for a terminating server: SDS by credentialName over the gateway SDS socket,
 * ISTIO_MUTUAL with the workload identity (/etc/certs or SDS), else the files named in the server.
 */
export function gatewayTlsContext(tls: ServerTls, proxy: ProxyNode, mesh: MeshView): EnvoyObject {
  let common: EnvoyObject;
  if (tls.mode === 'ISTIO_MUTUAL')
    common = istioCommonTlsContext(proxy, mesh, tls.subjectAltNames ?? [], ALPN_HTTP);
  else if (tls.credentialName) common = credentialContext(tls);
  else common = fileContext(tls);
  const params = tlsParams(tls);
  if (params) common.tls_params = params;
  const mutual = tls.mode === 'MUTUAL' || tls.mode === 'ISTIO_MUTUAL';
  return { common_tls_context: common, require_client_certificate: { value: mutual } };
}

/** The transport socket form used on filter chains (v3; v2 used filter_chain.tls_context). */
export function gatewayTransportSocket(tls: ServerTls, proxy: ProxyNode, mesh: MeshView): EnvoyObject {
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: typed(DOWNSTREAM_TLS_TYPE, gatewayTlsContext(tls, proxy, mesh)),
  };
}
