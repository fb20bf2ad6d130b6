// Mesh fixtures for the pilot e2e: the reviews VirtualService per step, Endpoints edits, syncz lookups.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ReviewsVsOptions {
  /** Subset -> weight; empty routes to the reviews host without a subset. */
  weights?: Record<string, number>;
  /** A first route for `end-user: jason` that aborts every call with this HTTP status. */
  jasonAbort?: number;
}

/** The `reviews` VirtualService (namespace default) for one test step. */
export function reviewsVs(opts: ReviewsVsOptions): string {
  const entries = Object.entries(opts.weights ?? {});
  const destinations =
    entries.length === 0
      ? '    - destination: {host: reviews}\n'
      : entries
          .map(([s, w]) => `    - destination: {host: reviews, subset: ${s}}\n      weight: ${w}\n`)
          .join('');
  const abort =
    opts.jasonAbort === undefined
      ? ''
      : `  - match:
    - headers:
        end-user: {exact: jason}
    fault:
      abort:
        httpStatus: ${opts.jasonAbort}
        percentage: {value: 100}
    route:
    - destination: {host: reviews, subset: v2}
`;
  return `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
${abort}  - route:
${destinations}`;
}

/** Moves the `reviews` VirtualService out of bookinfo-networking.yaml (in `dir`) into `vsFile`. */
export async function splitOutReviewsVs(dir: string, vsFile: string): Promise<void> {
  const networking = path.join(dir, 'bookinfo-networking.yaml');
  const docs = (await readFile(networking, 'utf8')).split(/^---$/m);
  const isReviewsVs = (d: string) => /^kind: VirtualService$/m.test(d) && /^ {2}name: reviews$/m.test(d);
  const vs = docs.filter(isReviewsVs);
  if (vs.length !== 1)
    throw new Error(`expected one reviews VirtualService in ${networking}, found ${vs.length}`);
  await writeFile(vsFile, vs[0]!.trimStart());
  await writeFile(networking, docs.filter((d) => !isReviewsVs(d)).join('---'));
}

/** `platformYaml` with the Endpoints address that targets pod `podName` removed. */
export function withoutEndpoint(platformYaml: string, podName: string): string {
  const entry = new RegExp(
    `^ {2}- ip: [\\d.]+\\n {4}targetRef:\\n {6}kind: Pod\\n {6}name: ${podName}\\n {6}namespace: \\w+\\n`,
    'm',
  );
  if (!entry.test(platformYaml)) throw new Error(`no Endpoints address for pod ${podName}`);
  return platformYaml.replace(entry, '');
}

export interface SyncEntry {
  raw: Record<string, unknown>;
  /** The most recent NACK pilot recorded for the node (syncz `last_nack`). */
  lastNack?: { type: string; error: string };
}

/** The /debug/syncz entry of `nodeId`, if any. */
export function syncEntry(syncz: unknown, nodeId: string): SyncEntry | undefined {
  const list = Array.isArray(syncz) ? syncz : [];
  const raw = list.find((e) => (e as { proxy?: unknown }).proxy === nodeId) as
    | Record<string, unknown>
    | undefined;
  if (!raw) return undefined;
  const nack = raw.last_nack as { type?: unknown; error?: unknown } | undefined;
  return nack && typeof nack.error === 'string'
    ? { raw, lastNack: { type: String(nack.type), error: nack.error } }
    : { raw };
}
