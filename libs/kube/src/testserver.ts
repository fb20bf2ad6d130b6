import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import fastJsonPatch from 'fast-json-patch';
import { apiVersionOf, type KindInfo, KindTable } from './kinds.js';
import {
  type KubeObject,
  mergePatch,
  ObjectStore,
  parseLabelSelector,
  resourceKey,
  type StoredEvent,
} from './teststore.js';

export type { KubeObject } from './teststore.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

/** A small in-process Kubernetes API server for tests: list, get, watch, write. */
export interface KubeTestServer {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** A KubeConfig pointing at `url` with no authentication. */
  kubeConfig(): KubeConfig;
  registerKind(info: KindInfo): void;
  /** Adds or modifies an object (sets resourceVersion, uid, creationTimestamp); returns the stored copy. */
  apply(obj: KubeObject): KubeObject;
  /** Deletes an object; false if it did not exist. */
  remove(obj: KubeObject): boolean;
  /** Ends every open watch response abruptly (socket destroyed). */
  dropWatches(): void;
  /** Forgets the event history: a watch from an older resourceVersion gets 410 Gone. */
  compactHistory(): void;
  /** Number of watch responses currently open. */
  openWatches(): number;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface KubeTestServerOptions {
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Extra kinds besides the core ones. */
  kinds?: KindInfo[];
  /** Answers POST /apis/authentication.k8s.io/v1/tokenreviews (404 without it). */
  tokenReview?: (token: string, audiences: string[]) => TokenReviewStatus;
}

/** `status` of an authentication.k8s.io/v1 TokenReview. */
export interface TokenReviewStatus {
  authenticated: boolean;
  user?: { username: string; uid?: string; groups?: string[] };
  audiences?: string[];
  error?: string;
}

interface Watcher {
  resource: string;
  namespace?: string;
  match?: (obj: KubeObject) => boolean;
  res: ServerResponse;
}

interface ResourceRoute {
  info: KindInfo;
  namespace?: string;
  name?: string;
}

class HttpError {
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly message: string,
  ) {}
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Starts a test API server on 127.0.0.1 with the core kinds registered. */
export async function startKubeTestServer(options: KubeTestServerOptions = {}): Promise<KubeTestServer> {
  const kinds = new KindTable();
  for (const k of options.kinds ?? []) kinds.register(k);
  const store = new ObjectStore();
  const watchers = new Set<Watcher>();
  const requests: RecordedRequest[] = [];
  store.onEvent = (ev) => fanOut(watchers, ev);

  const server = createServer((req, res) => {
    handle({ kinds, store, watchers, requests, tokenReview: options.tokenReview }, req, res).catch(
      (err: unknown) => {
        const e = err instanceof HttpError ? err : new HttpError(500, 'InternalError', String(err));
        if (!res.headersSent) sendJson(res, e.code, status(e.code, e.reason, e.message));
        else res.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const infoOf = (obj: KubeObject): KindInfo => {
    const info = kinds.forObject(obj.apiVersion ?? '', obj.kind ?? '');
    if (!info) throw new Error(`kind not registered: ${obj.apiVersion} ${obj.kind}`);
    return info;
  };
  const dropWatches = (): void => {
    for (const w of watchers) w.res.socket?.destroy();
    watchers.clear();
  };
  return {
    url,
    port,
    requests,
    kubeConfig: () => kubeConfigFor(url),
    registerKind: (info) => kinds.register(info),
    apply: (obj) => store.put(infoOf(obj), obj).object,
    remove: (obj) =>
      store.delete(infoOf(obj), obj.metadata?.namespace, obj.metadata?.name ?? '') !== undefined,
    dropWatches,
    compactHistory: () => store.compact(),
    openWatches: () => watchers.size,
    close: async () => {
      dropWatches();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A KubeConfig for a plain-HTTP server URL with no credentials. */
export function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: url, skipTLSVerify: true }],
    users: [{ name: 'test' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  return kc;
}

function fanOut(watchers: Set<Watcher>, ev: StoredEvent): void {
  for (const w of watchers) {
    if (w.resource !== ev.resource) continue;
    if (w.namespace !== undefined && w.namespace !== ev.namespace) continue;
    if (w.match && !w.match(ev.object)) continue;
    w.res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
  }
}

interface Ctx {
  kinds: KindTable;
  store: ObjectStore;
  watchers: Set<Watcher>;
  requests: RecordedRequest[];
  tokenReview?: KubeTestServerOptions['tokenReview'];
}

async function handle(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  ctx.requests.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams) });
  if (
    method === 'POST' &&
    url.pathname === '/apis/authentication.k8s.io/v1/tokenreviews' &&
    ctx.tokenReview
  ) {
    const body = await readObject(req);
    const spec = (body.spec ?? {}) as { token?: string; audiences?: string[] };
    const reviewed = ctx.tokenReview(String(spec.token ?? ''), spec.audiences ?? []);
    return sendJson(res, 201, { ...body, status: reviewed });
  }
  const discovery = discoveryDocument(ctx.kinds, url.pathname);
  if (discovery !== undefined && method === 'GET') return sendJson(res, 200, discovery);
  const route = parseRoute(ctx.kinds, url.pathname);
  if (!route) throw new HttpError(404, 'NotFound', `the server could not find the requested resource`);
  const { info, namespace, name } = route;
  if (method === 'GET' && name === undefined) {
    const watch = url.searchParams.get('watch');
    if (watch === '1' || watch === 'true') return startWatch(ctx, route, url.searchParams, res);
    return listObjects(ctx, route, url.searchParams, res);
  }
  if (method === 'POST' && name === undefined) {
    const body = await readObject(req);
    const ns = info.namespaced ? (namespace ?? body.metadata?.namespace) : undefined;
    if (ctx.store.get(info, ns, body.metadata?.name ?? '')) {
      throw new HttpError(409, 'AlreadyExists', `${info.plural} "${body.metadata?.name}" already exists`);
    }
    return sendJson(res, 201, ctx.store.put(info, withNamespace(body, ns)).object);
  }
  if (name === undefined) throw new HttpError(405, 'MethodNotAllowed', `${method} needs an object path`);
  const current = ctx.store.get(info, namespace, name);
  if (!current) throw new HttpError(404, 'NotFound', `${info.plural} "${name}" not found`);
  if (method === 'GET') return sendJson(res, 200, current);
  if (method === 'DELETE') return sendJson(res, 200, ctx.store.delete(info, namespace, name));
  if (method === 'PUT') {
    const body = await readObject(req);
    const rv = body.metadata?.resourceVersion;
    if (rv && rv !== current.metadata?.resourceVersion) {
      throw new HttpError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${info.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const next = { ...body, metadata: { ...body.metadata, name, namespace } };
    return sendJson(res, 200, ctx.store.put(info, next).object);
  }
  if (method === 'PATCH') {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type === 'application/json-patch+json') {
      const patched = applyJsonPatch(current, await readBody(req));
      patched.metadata = { ...patched.metadata, name, namespace };
      return sendJson(res, 200, ctx.store.put(info, patched).object);
    }
    if (type !== 'application/merge-patch+json' && type !== 'application/strategic-merge-patch+json') {
      throw new HttpError(415, 'UnsupportedMediaType', `unsupported patch type ${type}`);
    }
    const patched = mergePatch(current, await readObject(req)) as KubeObject;
    patched.metadata = { ...patched.metadata, name, namespace };
    return sendJson(res, 200, ctx.store.put(info, patched).object);
  }
  throw new HttpError(405, 'MethodNotAllowed', `${method} is not supported`);
}

function withNamespace(obj: KubeObject, namespace: string | undefined): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, namespace } };
}

function listObjects(ctx: Ctx, route: ResourceRoute, query: URLSearchParams, res: ServerResponse): void {
  const match = parseLabelSelector(query.get('labelSelector'));
  const items = ctx.store.list(route.info, route.namespace).filter((o) => !match || match(o));
  sendJson(res, 200, {
    apiVersion: apiVersionOf(route.info.group, route.info.version),
    kind: `${route.info.kind}List`,
    metadata: { resourceVersion: String(ctx.store.currentRv) },
    items,
  });
}

/** Streams watch events: a replay after resourceVersion N (or ADDED for all when absent/0), then live. */
function startWatch(ctx: Ctx, route: ResourceRoute, query: URLSearchParams, res: ServerResponse): void {
  const { info, namespace } = route;
  const match = parseLabelSelector(query.get('labelSelector'));
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  const line = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
  const rvParam = query.get('resourceVersion');
  const from = rvParam ? Number(rvParam) : 0;
  if (from === 0 || Number.isNaN(from)) {
    for (const obj of ctx.store.list(info, namespace)) if (!match || match(obj)) line('ADDED', obj);
  } else if (from < ctx.store.oldestRv || from > ctx.store.currentRv) {
    line('ERROR', status(410, 'Expired', `too old resource version: ${from} (${ctx.store.oldestRv})`));
    res.end();
    return;
  } else {
    for (const ev of ctx.store.eventsAfter(from, info, namespace)) {
      if (!match || match(ev.object)) line(ev.type, ev.object);
    }
  }
  const watcher: Watcher = { resource: resourceKey(info), namespace, match, res };
  ctx.watchers.add(watcher);
  res.on('close', () => ctx.watchers.delete(watcher));
  const timeout = Number(query.get('timeoutSeconds') ?? 0);
  if (timeout > 0) {
    const timer = setTimeout(() => res.end(), timeout * 1000);
    res.on('close', () => clearTimeout(timer));
  }
}

/** Maps `/api/v1/...` and `/apis/g/v/...` resource paths to a kind, namespace and name. */
function parseRoute(kinds: KindTable, pathname: string): ResourceRoute | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let rest: string[];
  let version: string | undefined;
  if (parts[0] === 'api') {
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    version = parts[2];
    rest = parts.slice(3);
  } else return undefined;
  if (!version) return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length < 1 || rest.length > 2) return undefined;
  const info = kinds.forPlural(group, version, rest[0]!);
  if (!info || (namespace !== undefined && !info.namespaced)) return undefined;
  return { info, namespace, name: rest[1] };
}

/** Legacy discovery documents (/api, /apis, /api/v1, /apis/g/v, /version) so kubectl can resolve kinds. */
function discoveryDocument(kinds: KindTable, pathname: string): unknown {
  const all = kinds.all();
  const p = pathname.replace(/\/$/, '');
  if (p === '/version') return { major: '1', minor: '16', gitVersion: 'v1.16.15', platform: 'linux/amd64' };
  if (p === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (p === '/apis') {
    const groups = new Map<string, string[]>();
    for (const k of all)
      if (k.group) groups.set(k.group, [...new Set([...(groups.get(k.group) ?? []), k.version])]);
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups].map(([name, versions]) => ({
        name,
        versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
        preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
      })),
    };
  }
  const gv = /^\/api\/([^/]+)$/.exec(p) ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(p);
  if (!gv) return undefined;
  const groupVersion = gv[1]!;
  const resources = all
    .filter((k) => apiVersionOf(k.group, k.version) === groupVersion)
    .map((k) => ({
      name: k.plural,
      singularName: k.kind.toLowerCase(),
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    }));
  if (resources.length === 0) return undefined;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}

/** RFC 6902 as the API server applies it: a failed `test` or a bad path is 422 and nothing changes. */
function applyJsonPatch(current: KubeObject, ops: unknown): KubeObject {
  if (!Array.isArray(ops))
    throw new HttpError(400, 'BadRequest', 'a JSON patch must be a list of operations');
  try {
    return fastJsonPatch.applyPatch(structuredClone(current), ops, true, false).newDocument as KubeObject;
  } catch (err) {
    throw new HttpError(
      422,
      'Invalid',
      `the patch could not be applied: ${(err as Error).message.split('\n')[0]}`,
    );
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw new HttpError(400, 'BadRequest', `invalid JSON body: ${(err as Error).message}`);
  }
}

async function readObject(req: IncomingMessage): Promise<KubeObject> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as KubeObject;
  } catch (err) {
    throw new HttpError(400, 'BadRequest', `invalid JSON body: ${(err as Error).message}`);
  }
}
