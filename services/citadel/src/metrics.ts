// Citadel's Prometheus metrics, Istio 1.4 names (spec section 3.5).
import { Counter, Gauge, type Registry } from 'prom-client';

export function citadelMetrics(registry: Registry) {
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  return {
    csrCount: counter('citadel_server_csr_count', 'CSRs received'),
    authnFailure: counter(
      'citadel_server_authentication_failure_count',
      'CSRs whose caller failed authentication',
    ),
    csrParsingErr: counter('citadel_server_csr_parsing_err_count', 'CSRs that could not be parsed'),
    idExtractionErr: counter(
      'citadel_server_id_extraction_err_count',
      'Callers whose identity could not be read',
    ),
    csrSignErr: counter('citadel_server_csr_sign_err_count', 'CSRs that could not be signed'),
    success: counter('citadel_server_success_cert_issuance_count', 'Certificates issued'),
    rootExpiry: new Gauge({
      name: 'citadel_server_root_cert_expiry_timestamp',
      help: 'Unix time (seconds) when the root certificate expires',
      registers: [registry],
    }),
    secretCreated: counter(
      'citadel_secret_controller_svc_acc_created_cert_count',
      'Secrets created for service accounts',
    ),
    secretDeleted: counter(
      'citadel_secret_controller_svc_acc_deleted_cert_count',
      'Secrets deleted with their service account',
    ),
    secretRecreated: counter(
      'citadel_secret_controller_secret_deleted_cert_count',
      'Secrets recreated after deletion',
    ),
    secretCsrErr: counter('citadel_secret_controller_csr_err_count', 'Secret controller key or CSR errors'),
    secretSignErr: counter(
      'citadel_secret_controller_csr_sign_err_count',
      'Secret controller signing errors',
    ),
  };
}

export type CitadelMetrics = ReturnType<typeof citadelMetrics>;
