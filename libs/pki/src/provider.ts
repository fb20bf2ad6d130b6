import type { experimental } from '@grpc/grpc-js';

type CertificateProvider = experimental.CertificateProvider;
type CaCertificateUpdateListener = experimental.CaCertificateUpdateListener;
type IdentityCertificateUpdateListener = experimental.IdentityCertificateUpdateListener;

/**
 * A grpc-js certificate provider fed from memory: `update()` swaps the identity and CA bundle of every
 * server or channel built on it (`grpc.experimental.createCertificateProvider{Server,Channel}Credentials`).
 */
export class MemoryCertificateProvider implements CertificateProvider {
  private ca: Buffer | undefined;
  private identity: { certificate: Buffer; privateKey: Buffer } | undefined;
  private readonly caListeners = new Set<CaCertificateUpdateListener>();
  private readonly idListeners = new Set<IdentityCertificateUpdateListener>();

  /** Any field left out keeps its previous value. */
  update(material: { certChainPem?: string; keyPem?: string; caPem?: string }): void {
    if (material.caPem !== undefined) {
      this.ca = Buffer.from(material.caPem);
      for (const l of this.caListeners) l({ caCertificate: this.ca });
    }
    if (material.certChainPem !== undefined && material.keyPem !== undefined) {
      this.identity = {
        certificate: Buffer.from(material.certChainPem),
        privateKey: Buffer.from(material.keyPem),
      };
      for (const l of this.idListeners) l(this.identity);
    }
  }

  addCaCertificateListener(listener: CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    // Deferred: grpc-js registers its watcher only after adding the listener.
    queueMicrotask(() => {
      if (this.ca && this.caListeners.has(listener)) listener({ caCertificate: this.ca });
    });
  }
  removeCaCertificateListener(listener: CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityCertificateUpdateListener): void {
    this.idListeners.add(listener);
    queueMicrotask(() => {
      if (this.identity && this.idListeners.has(listener)) listener(this.identity);
    });
  }
  removeIdentityCertificateListener(listener: IdentityCertificateUpdateListener): void {
    this.idListeners.delete(listener);
  }
}
