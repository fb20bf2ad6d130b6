// Citadel: the mesh CA. gRPC CreateCertificate over TLS (8060), monitoring (15014), root kept in a
// directory or Secret, root rotation with overlap, and (Kubernetes mode) the istio.<sa> secret controller.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { type Bus, connectBus, Subjects } from '@keel/bus';
import { kubeRequest } from '@keel/kube';
import {
  type CertificateAuthority,
  caServiceClient,
  createCsr,
  fingerprint,
  generateKey,
  type KeyAlgorithm,
  MemoryCertificateProvider,
  parseCsr,
  privateKeyPem,
  spiffeId,
} from '@keel/pki';
import { createMonitoringServer, type Logger, newRegistry } from '@keel/runtime';
import type { KubeConfig } from '@kubernetes/client-node';
import { createAuthenticator, tokenFileVerifier, tokenReviewVerifier } from './authn.js';
import {
  loadPluggedCa,
  loadSelfSignedCa,
  type PluggedFiles,
  rootNeedsRotation,
  rotateSelfSignedCa,
  type SelfSignedOptions,
} from './authority.js';
import { citadelMetrics } from './metrics.js';
import { createSecretController, dnsNamesFor, type SecretController } from './secrets.js';
import { createCertificateHandler } from './server.js';
import { dirStore, secretStore } from './store.js';

export interface CitadelOptions {
  host?: string;
  grpcPort: number;
  monitoringPort: number;
  trustDomain?: string;
  /** Local mode: self-signed CA kept here. */
  caDir?: string;
  /** Kubernetes mode: API access (istio-ca-secret, TokenReview, secret controller, Lease). */
  kubeConfig?: KubeConfig;
  storageNamespace?: string;
  /** Plugged-in CA files instead of a self-signed root. */
  plugged?: PluggedFiles;
  keyAlgorithm?: KeyAlgorithm;
  rsaBits?: number;
  rootTtlMs?: number;
  workloadTtlMs?: number;
  maxWorkloadTtlMs?: number;
  gracePeriodRatio?: number;
  minGracePeriodMs?: number;
  rootCheckIntervalMs?: number;
  rootGraceRatio?: number;
  tokenFile?: string;
  /** Kubernetes mode: accept service-account JWTs (TokenReview). */
  sdsEnabled?: boolean;
  /** Kubernetes mode: no secret controller. */
  serverOnly?: boolean;
  enableNamespacesByDefault?: boolean;
  /** `sa.ns:dns` entries (default `istio-pilot-service-account.<ns>:istio-pilot.<ns>`). */
  customDnsNames?: readonly string[];
  /** Webhook service accounts get their Service DNS names (default true). */
  appendDnsNames?: boolean;
  /** Secret-controller resync period (default 1 min, Istio's). */
  resyncMs?: number;
  /** Leader election timing (defaults 15 s lease, 5 s renew). */
  lease?: { durationMs: number; renewMs: number };
  podName?: string;
  natsUrl?: string;
  logger: Logger;
  version?: string;
}

export interface Citadel {
  start(): Promise<{ grpcPort: number; monitoringPort: number }>;
  stop(): Promise<void>;
  /** The CA signing now. */
  authority(): CertificateAuthority;
  /** Replaces the self-signed root now (the old one stays trusted for the longest workload TTL). */
  rotateRoot(): Promise<void>;
  ready(): boolean;
  /** `root` (CertificateAuthority) after a rotation. */
  events: EventEmitter;
  secretController(): SecretController | undefined;
}

const DAY = 86_400_000;

export function createCitadel(opts: CitadelOptions): Citadel {
  const log = opts.logger;
  const trustDomain = opts.trustDomain ?? 'cluster.local';
  const ns = opts.storageNamespace ?? 'istio-system';
  const version = opts.version ?? process.env.KEEL_VERSION ?? '0.1.0';
  const workloadTtlMs = opts.workloadTtlMs ?? 90 * DAY;
  const maxTtlMs = opts.maxWorkloadTtlMs ?? 90 * DAY;
  const registry = newRegistry('citadel', version);
  const metrics = citadelMetrics(registry);
  const events = new EventEmitter();
  const provider = new MemoryCertificateProvider();
  let ca: CertificateAuthority | undefined;
  let bus: Bus | undefined;
  let started = false;
  let rootTimer: NodeJS.Timeout | undefined;
  let serverCertTimer: NodeJS.Timeout | undefined;
  let secrets: SecretController | undefined;

  const store = opts.kubeConfig
    ? secretStore(opts.kubeConfig, ns)
    : opts.caDir
      ? dirStore(opts.caDir)
      : undefined;
  const selfSigned: SelfSignedOptions | undefined = store
    ? {
        store,
        organization: trustDomain,
        algorithm: opts.keyAlgorithm ?? 'RSA',
        rsaBits: opts.rsaBits ?? 2048,
        rootTtlMs: opts.rootTtlMs ?? 3650 * DAY,
        overlapMs: maxTtlMs,
      }
    : undefined;

  const authority = (): CertificateAuthority => {
    if (!ca) throw new Error('the CA is not loaded yet');
    return ca;
  };

  const authenticator = createAuthenticator({
    ...(opts.tokenFile ? { tokenFile: tokenFileVerifier(opts.tokenFile, trustDomain) } : {}),
    ...(opts.kubeConfig && opts.sdsEnabled !== false
      ? { tokenReview: tokenReviewVerifier(opts.kubeConfig, trustDomain) }
      : {}),
  });
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 });
  server.addService(caServiceClient().service, {
    CreateCertificate: createCertificateHandler({
      authority,
      authenticator,
      defaultTtlMs: workloadTtlMs,
      maxTtlMs,
      metrics,
      logger: log,
      bus: () => bus,
    }),
  });
  const monitoring = createMonitoringServer({
    port: opts.monitoringPort,
    ...(opts.host ? { host: opts.host } : {}),
    registry,
    version,
    ready: () => started && ca !== undefined,
    logger: log,
  });

  /** Citadel's own serving certificate (DNS istio-citadel, istio-ca; 127.0.0.1), reissued at half-life. */
  async function refreshServerCert(): Promise<void> {
    const key = await generateKey({ algorithm: 'ECDSA' });
    const csr = parseCsr(createCsr({ key }));
    if (!csr.ok) throw new Error(csr.errors);
    const ttl = Math.min(workloadTtlMs, 30 * DAY);
    const issued = authority().issue({
      spki: csr.value.spki,
      uris: [spiffeId(trustDomain, ns, 'istio-citadel-service-account')],
      dnsNames: ['istio-citadel', 'istio-ca', `istio-citadel.${ns}`, `istio-citadel.${ns}.svc`, 'localhost'],
      ips: ['127.0.0.1'],
      ttlMs: ttl,
    });
    provider.update({
      certChainPem: issued.chain.slice(0, -1).join(''),
      keyPem: privateKeyPem(key),
      caPem: authority().trustBundle().join(''),
    });
    clearTimeout(serverCertTimer);
    serverCertTimer = setTimeout(
      () => void refreshServerCert().catch((e) => log.error({ err: e }, 'server certificate refresh failed')),
      ttl / 2,
    );
    serverCertTimer.unref();
  }

  /** Kubernetes mode: ConfigMap istio-security (caTLSRootCert) carries the trust bundle to agents. */
  async function publishRootConfigMap(): Promise<void> {
    if (!opts.kubeConfig) return;
    const base = `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps`;
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'istio-security', namespace: ns },
      data: { caTLSRootCert: authority().trustBundle().join('') },
    };
    const put = await kubeRequest(opts.kubeConfig, { method: 'PUT', path: `${base}/istio-security`, body });
    if (put.status === 404) await kubeRequest(opts.kubeConfig, { method: 'POST', path: base, body });
  }

  async function installAuthority(
    next: CertificateAuthority,
    previous?: CertificateAuthority,
  ): Promise<void> {
    ca = next;
    metrics.rootExpiry.set(Math.floor(next.rootExpiry().getTime() / 1000));
    await refreshServerCert();
    await publishRootConfigMap().catch((e) =>
      log.warn({ err: String(e) }, 'istio-security ConfigMap not written'),
    );
    if (previous) {
      const event = {
        previousFingerprint: fingerprint(previous.rootPem()),
        fingerprint: fingerprint(next.rootPem()),
        notAfter: next.rootExpiry().toISOString(),
        time: new Date().toISOString(),
      };
      log.info(event, 'root certificate rotated');
      bus?.publish(Subjects.rootRotated, event);
      events.emit('root', next);
    }
  }

  async function rotateRoot(): Promise<void> {
    if (!selfSigned) throw new Error('a plugged-in CA is not rotated by Citadel');
    const previous = authority();
    await installAuthority(await rotateSelfSignedCa(selfSigned, previous), previous);
  }

  /** Another replica rotated the root in istio-ca-secret: sign with what is stored now. */
  async function reloadStored(): Promise<void> {
    if (!selfSigned || !ca) return;
    const { ca: stored } = await loadSelfSignedCa(selfSigned);
    if (fingerprint(stored.rootPem()) === fingerprint(ca.rootPem())) return;
    await installAuthority(stored); // the rotating replica announced it
    log.info({ root: fingerprint(stored.rootPem()) }, 'root reloaded from the store');
    events.emit('root', stored);
  }

  const checkRoot = (): void => {
    if (!selfSigned || !ca) return;
    if (rootNeedsRotation(ca, opts.rootGraceRatio ?? 0.2))
      void rotateRoot().catch((e) => log.error({ err: e }, 'root rotation failed'));
  };

  return {
    events,
    authority,
    rotateRoot,
    ready: () => started,
    secretController: () => secrets,
    async start() {
      if (opts.natsUrl)
        bus = await connectBus({ url: opts.natsUrl, name: 'citadel', logger: log.child({ part: 'bus' }) });
      let loaded: CertificateAuthority;
      if (opts.plugged) {
        loaded = await loadPluggedCa(opts.plugged);
        log.info({ root: fingerprint(loaded.rootPem()) }, 'plugged-in CA loaded');
      } else {
        if (!selfSigned)
          throw new Error('citadel needs --ca-dir (local mode), --kubeconfig or plugged-in CA files');
        const r = await loadSelfSignedCa(selfSigned);
        loaded = r.ca;
        log.info(
          { where: selfSigned.store.where, created: r.created, root: fingerprint(loaded.rootPem()) },
          'self-signed CA ready',
        );
        if (r.created) {
          bus?.publish(Subjects.rootRotated, {
            fingerprint: fingerprint(loaded.rootPem()),
            notAfter: loaded.rootExpiry().toISOString(),
            time: new Date().toISOString(),
          });
        }
      }
      await installAuthority(loaded);
      checkRoot();
      rootTimer = setInterval(checkRoot, opts.rootCheckIntervalMs ?? 3_600_000);
      rootTimer.unref();
      const creds = grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
      const grpcPort = await new Promise<number>((resolve, reject) =>
        server.bindAsync(`${opts.host ?? '0.0.0.0'}:${opts.grpcPort}`, creds, (e, port) =>
          e ? reject(e) : resolve(port),
        ),
      );
      const monitoringPort = (await monitoring.start()).port;
      if (opts.kubeConfig && !opts.serverOnly) {
        secrets = createSecretController({
          kubeConfig: opts.kubeConfig,
          authority,
          trustDomain,
          citadelNamespace: ns,
          workloadTtlMs,
          gracePeriodRatio: opts.gracePeriodRatio ?? 0.5,
          minGracePeriodMs: opts.minGracePeriodMs ?? 600_000,
          enableNamespacesByDefault: opts.enableNamespacesByDefault ?? true,
          dnsNames: dnsNamesFor(
            opts.customDnsNames ?? [`istio-pilot-service-account.${ns}:istio-pilot.${ns}`],
            opts.appendDnsNames ?? true,
            ns,
          ),
          resyncMs: opts.resyncMs ?? 60_000,
          lease: opts.lease ?? { durationMs: 15_000, renewMs: 5_000 },
          identity: opts.podName ?? `${hostname()}-${process.pid}`,
          metrics,
          logger: log.child({ part: 'secrets' }),
          onCaSecretChange: () => void reloadStored().catch((e) => log.error({ err: e }, 'CA reload failed')),
        });
        events.on('root', () => secrets?.resync());
        await secrets.start();
      }
      started = true;
      return { grpcPort, monitoringPort };
    },
    async stop() {
      started = false;
      clearInterval(rootTimer);
      clearTimeout(serverCertTimer);
      await secrets?.stop();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
      await monitoring.stop();
      await bus?.close();
    },
  };
}
