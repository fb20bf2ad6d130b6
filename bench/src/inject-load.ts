import { Agent, request } from 'node:https';
import { nowMs } from './stats.js';

/** A bookinfo-like pod of about 4 KB as JSON (labels, annotations, env, probes, resources). */
export function fourKbPod(): Record<string, unknown> {
  const env = Array.from({ length: 58 }, (_, i) => ({
    name: `APP_SETTING_${i}`,
    value: `value-${i}-abcdefghij`,
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'reviews-v1-5d8f9c7b4-',
      namespace: 'bookinfo',
      labels: { app: 'reviews', version: 'v1', 'pod-template-hash': '5d8f9c7b4', team: 'bookinfo' },
      annotations: {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9080',
        'traffic.sidecar.istio.io/excludeOutboundPorts': '5432',
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'reviews-v1-5d8f9c7b4',
          uid: 'uid-rs',
          controller: true,
        },
      ],
    },
    spec: {
      serviceAccountName: 'bookinfo-reviews',
      containers: [
        {
          name: 'reviews',
          image: 'docker.io/istio/examples-bookinfo-reviews-v1:1.15.1',
          imagePullPolicy: 'IfNotPresent',
          ports: [{ name: 'http', containerPort: 9080, protocol: 'TCP' }],
          env,
          readinessProbe: { httpGet: { path: '/health', port: 9080 }, periodSeconds: 5 },
          livenessProbe: { httpGet: { path: '/health', port: 'http' }, initialDelaySeconds: 10 },
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }],
    },
  };
}

/** The AdmissionReview body for one pod (v1). */
export function reviewBody(pod: unknown, uid: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace: 'bookinfo',
        operation: 'CREATE',
        userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
        object: pod,
      },
    }),
  );
}

export interface LoadResult {
  /** Per-request latency in ms (from the intended send time in open-loop mode). */
  latencies: number[];
  elapsedMs: number;
  errors: number;
  /** Responses that carried a JSON Patch. */
  patched: number;
}

/** HTTPS keep-alive client for one webhook URL; every request must answer 200 with an allowed review. */
const ALLOWED = Buffer.from('"allowed":true');
const PATCH = Buffer.from('"patch":"');

export class AdmissionLoad {
  private readonly agent: Agent;
  private checked = false;
  constructor(
    private readonly port: number,
    ca: string,
    private readonly body: Buffer,
    sockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets, ca });
  }

  private one(): Promise<{ ok: boolean; patched: boolean }> {
    return new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          path: '/inject',
          method: 'POST',
          agent: this.agent,
          servername: 'localhost',
          headers: { 'content-type': 'application/json', 'content-length': this.body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode !== 200) return resolve({ ok: false, patched: false });
            const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            if (!this.checked) {
              // The first answer is decoded in full; later ones are checked by their bytes, so the
              // load generator's own JSON work does not cap the rate it can measure.
              this.checked = true;
              try {
                const r = JSON.parse(body.toString('utf8')).response;
                return resolve({ ok: r?.allowed === true, patched: typeof r?.patch === 'string' });
              } catch {
                return resolve({ ok: false, patched: false });
              }
            }
            resolve({ ok: body.includes(ALLOWED), patched: body.includes(PATCH) });
          });
        },
      );
      req.on('error', () => resolve({ ok: false, patched: false }));
      req.end(this.body);
    });
  }

  /** Closed loop: `concurrency` requests in flight until `total` have completed. */
  async closed(total: number, concurrency: number): Promise<LoadResult> {
    const latencies: number[] = [];
    let errors = 0;
    let patched = 0;
    let started = 0;
    const t0 = nowMs();
    const worker = async () => {
      while (started < total) {
        started++;
        const s = nowMs();
        const r = await this.one();
        latencies.push(nowMs() - s);
        if (!r.ok) errors++;
        if (r.patched) patched++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { latencies, elapsedMs: nowMs() - t0, errors, patched };
  }

  /** Open loop: requests sent on a fixed schedule of `rate`/s for `total` requests. */
  async open(total: number, rate: number): Promise<LoadResult> {
    const latencies: number[] = [];
    let errors = 0;
    let patched = 0;
    const t0 = nowMs();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - nowMs();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      pending.push(
        this.one().then((r) => {
          latencies.push(nowMs() - due);
          if (!r.ok) errors++;
          if (r.patched) patched++;
        }),
      );
    }
    await Promise.all(pending);
    return { latencies, elapsedMs: nowMs() - t0, errors, patched };
  }

  close(): void {
    this.agent.destroy();
  }
}
