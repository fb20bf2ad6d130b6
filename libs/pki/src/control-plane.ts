// The control-plane security switch shared by galley, pilot and the mixers: on with `--cert-dir`, or
// when the mesh config (`--mesh-config`, the mounted `istio` ConfigMap) turns it on, in which case the
// certificates come from Istio's /etc/certs (the istio.<sa> secret mount) unless --cert-dir says otherwise.
import { accessSync, constants, readFileSync } from 'node:fs';
import { controlPlaneSecurityEnabled, parseMeshConfig } from '@keel/config';
import type { Result } from '@keel/runtime';
import { certDirFiles } from './mtls.js';

/** Istio's mount point of the `istio.<serviceaccount>` secret. */
export const DEFAULT_CERT_DIR = '/etc/certs';

export interface ControlPlaneSecurityInput {
  /** `--cert-dir`: turns security on by itself. */
  certDir?: string | undefined;
  /** `--mesh-config`: its `controlPlaneSecurityEnabled` (or controlPlaneAuthPolicy MUTUAL_TLS) turns it on. */
  meshConfigFile?: string | undefined;
}

export interface ControlPlaneSecurity {
  /** Where cert-chain.pem, key.pem and root-cert.pem are (checked readable). */
  certDir: string;
  /** The mesh config turned it on (so clients such as Pilot's MCP connection must use mTLS too). */
  byMeshConfig: boolean;
}

/**
 * The cert dir to serve mTLS with, or undefined when control-plane security is off. An unreadable or
 * invalid mesh config, or security on without readable cert-chain.pem/key.pem/root-cert.pem, is an
 * error naming the file and the flag to set.
 */
export function controlPlaneCertDir(
  input: ControlPlaneSecurityInput,
): Result<ControlPlaneSecurity | undefined, string> {
  let enabledBy = input.certDir ? '--cert-dir' : undefined;
  let byMeshConfig = false;
  if (input.meshConfigFile) {
    let text: string;
    try {
      text = readFileSync(input.meshConfigFile, 'utf8');
    } catch (e) {
      return { ok: false, errors: `mesh config ${input.meshConfigFile}: ${(e as Error).message}` };
    }
    const mesh = parseMeshConfig(text, input.meshConfigFile);
    if (!mesh.ok)
      return {
        ok: false,
        errors: `mesh config ${input.meshConfigFile}: ${mesh.errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ')}`,
      };
    byMeshConfig = controlPlaneSecurityEnabled(mesh.value);
    if (byMeshConfig) enabledBy ??= `controlPlaneSecurityEnabled in ${input.meshConfigFile}`;
  }
  if (!enabledBy) return { ok: true, value: undefined };
  const dir = input.certDir ?? DEFAULT_CERT_DIR;
  const missing = Object.values(certDirFiles(dir)).filter((f) => {
    try {
      accessSync(f, constants.R_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0)
    return {
      ok: false,
      errors: `control-plane security is on (${enabledBy}) but ${missing.join(', ')} cannot be read: mount the istio.<serviceaccount> secret there or set --cert-dir`,
    };
  return { ok: true, value: { certDir: dir, byMeshConfig } };
}

export interface ControlPlaneTlsInput extends ControlPlaneSecurityInput {
  /** `--mcp-tls`: reach Galley's MCP over mTLS even when the mesh config does not require it. */
  mcpTls?: boolean;
  /** `--galley-identity`: the SPIFFE id Galley must present (default its Istio 1.4 service account). */
  galleyIdentity?: string | undefined;
  /** `--trust-domain`. */
  trustDomain: string;
  /** `--secure-grpc-port`: where the mTLS server listens. */
  securePort: number;
}

/** What an MCP sink service (Pilot, the mixers) serves and dials with mTLS. */
export interface ControlPlaneTls {
  /** The mTLS server, when control-plane security is on. */
  secure?: { port: number; certDir: string; trustDomain: string };
  /** mTLS to Galley: asked for with --mcp-tls, or required because the mesh config turned security on. */
  mcpTls?: { certDir: string; galleyIdentity: string };
}

/** `controlPlaneCertDir` turned into the `secure` and `mcpTls` options of Pilot and the mixers. */
export function controlPlaneTls(input: ControlPlaneTlsInput): Result<ControlPlaneTls, string> {
  const security = controlPlaneCertDir(input);
  if (!security.ok) return security;
  if (!security.value) return { ok: true, value: {} };
  const { certDir, byMeshConfig } = security.value;
  const out: ControlPlaneTls = {
    secure: { port: input.securePort, certDir, trustDomain: input.trustDomain },
  };
  if (input.mcpTls || byMeshConfig) {
    const galleyIdentity =
      input.galleyIdentity ?? `spiffe://${input.trustDomain}/ns/istio-system/sa/istio-galley-service-account`;
    out.mcpTls = { certDir, galleyIdentity };
  }
  return { ok: true, value: out };
}

/** The parsed flags Pilot and the mixers declare for control-plane mTLS (same names in each). */
export interface ControlPlaneTlsFlags {
  'cert-dir'?: string | undefined;
  'mesh-config'?: string | undefined;
  'mcp-tls'?: boolean | undefined;
  'galley-identity'?: string | undefined;
  'trust-domain': string;
  'secure-grpc-port': number;
}

/** `controlPlaneTls` from a service's parsed flags. */
export function controlPlaneTlsFromFlags(f: ControlPlaneTlsFlags): Result<ControlPlaneTls, string> {
  return controlPlaneTls({
    certDir: f['cert-dir'],
    meshConfigFile: f['mesh-config'],
    mcpTls: f['mcp-tls'],
    galleyIdentity: f['galley-identity'],
    trustDomain: f['trust-domain'],
    securePort: f['secure-grpc-port'],
  });
}
