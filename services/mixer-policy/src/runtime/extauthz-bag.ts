// envoy.service.auth.v3.CheckRequest -> attribute bag (the attributes Istio's Envoy mixer filter sent).
import {
  type AttributeManifest,
  type AttributeValue,
  MapBag,
  parseIp,
  valueFromText,
} from '@keel/attributes';
import type { Result } from '@keel/runtime';

/** Edge limits: a request past them is INVALID_ARGUMENT. */
export const LIMITS = { headers: 256, headerBytes: 96 * 1024, extensions: 128, metadataKeys: 256 };

type Obj = Record<string, any>;

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v ?? 0);
}

/** `spiffe://cluster.local/ns/x/sa/y` -> `cluster.local/ns/x/sa/y` (Istio's principal form). */
export function principalOf(p: unknown): string | undefined {
  if (typeof p !== 'string' || p === '') return undefined;
  return p.startsWith('spiffe://') ? p.slice('spiffe://'.length) : p;
}

function address(peer: Obj | undefined): { ip?: Uint8Array; port?: number } {
  const sa = peer?.address?.socket_address;
  if (!sa) return {};
  return {
    ip: typeof sa.address === 'string' ? parseIp(sa.address) : undefined,
    port: sa.port_value === undefined ? undefined : num(sa.port_value),
  };
}

function queryParams(query: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!query) return out;
  for (const part of query.split('&')) {
    if (!part) continue;
    const i = part.indexOf('=');
    const k = i < 0 ? part : part.slice(0, i);
    const v = i < 0 ? '' : part.slice(i + 1);
    try {
      out.set(decodeURIComponent(k.replace(/\+/g, ' ')), decodeURIComponent(v.replace(/\+/g, ' ')));
    } catch {
      out.set(k, v);
    }
  }
  return out;
}

function headersOf(http: Obj): Result<Map<string, string>, string> {
  const out = new Map<string, string>();
  let bytes = 0;
  const put = (k: string, v: string) => {
    bytes += k.length + v.length;
    const key = k.toLowerCase();
    const prev = out.get(key);
    out.set(key, prev === undefined ? v : `${prev},${v}`);
  };
  const map = (http.headers ?? {}) as Record<string, unknown>;
  for (const k in map) put(k, String(map[k]));
  for (const h of (http.header_map?.headers ?? []) as Obj[]) {
    const raw = h.raw_value ? Buffer.from(h.raw_value).toString('utf8') : String(h.value ?? '');
    put(String(h.key ?? ''), raw);
  }
  if (out.size > LIMITS.headers) return { ok: false, errors: `more than ${LIMITS.headers} request headers` };
  if (bytes > LIMITS.headerBytes)
    return { ok: false, errors: `request headers larger than ${LIMITS.headerBytes} bytes` };
  return { ok: true, value: out };
}

/**
 * The bag for one ext_authz CheckRequest: peers, principals, HTTP request, context_extensions (typed
 * by the manifest; Pilot puts destination.* and context.reporter.* there) and filter metadata.
 * Errors name what was malformed.
 */
export function bagFromCheckRequest(
  req: Obj,
  manifest: AttributeManifest,
  now = Date.now(),
): Result<MapBag, string> {
  const a = req?.attributes as Obj | undefined;
  if (!a || typeof a !== 'object') return { ok: false, errors: 'CheckRequest.attributes is required' };
  const bag = new MapBag(new Map<string, AttributeValue>());
  const src = address(a.source);
  const dst = address(a.destination);
  if (src.ip) bag.set('source.ip', src.ip);
  if (src.port !== undefined) bag.set('source.port', src.port);
  if (dst.ip) bag.set('destination.ip', dst.ip);
  if (dst.port !== undefined) bag.set('destination.port', dst.port);
  const sp = principalOf(a.source?.principal);
  if (sp) {
    bag.set('source.principal', sp);
    bag.set('source.user', sp);
  }
  const dp = principalOf(a.destination?.principal);
  if (dp) bag.set('destination.principal', dp);
  bag.set('connection.mtls', sp !== undefined);
  const http = a.request?.http as Obj | undefined;
  if (http) {
    const h = headersOf(http);
    if (!h.ok) return h;
    const headers = h.value;
    const path = String(http.path ?? headers.get(':path') ?? '');
    const q = path.indexOf('?');
    bag.set('request.headers', headers);
    bag.set('request.method', String(http.method ?? headers.get(':method') ?? ''));
    bag.set('request.path', path);
    bag.set('request.url_path', q < 0 ? path : path.slice(0, q));
    bag.set(
      'request.query_params',
      queryParams(http.query ? String(http.query) : q < 0 ? '' : path.slice(q + 1)),
    );
    bag.set('request.host', String(http.host ?? headers.get(':authority') ?? ''));
    bag.set('request.scheme', String(http.scheme ?? headers.get(':scheme') ?? 'http'));
    bag.set('request.size', num(http.size) > 0 ? num(http.size) : num(headers.get('content-length')));
    const id = http.id || headers.get('x-request-id');
    if (id) bag.set('request.id', String(id));
    const ua = headers.get('user-agent');
    if (ua !== undefined) bag.set('request.useragent', ua);
    const referer = headers.get('referer');
    if (referer !== undefined) bag.set('request.referer', referer);
    const grpc = (headers.get('content-type') ?? '').startsWith('application/grpc');
    bag.set('context.protocol', grpc ? 'grpc' : 'http');
  } else bag.set('context.protocol', 'tcp');
  const t = a.request?.time;
  bag.set(
    'request.time',
    t ? new Date(num(t.seconds) * 1000 + Math.floor(num(t.nanos) / 1e6)) : new Date(now),
  );
  bag.set('context.time', new Date(now));
  const ext = (a.context_extensions ?? {}) as Record<string, unknown>;
  const keys = Object.keys(ext);
  if (keys.length > LIMITS.extensions)
    return { ok: false, errors: `more than ${LIMITS.extensions} context_extensions` };
  for (const k of keys) {
    const v = valueFromText(String(ext[k]), manifest.get(k));
    if (v === undefined)
      return {
        ok: false,
        errors: `context_extensions[${k}]: ${JSON.stringify(ext[k])} is not a valid ${manifest.get(k)}`,
      };
    bag.set(k, v);
  }
  const fm = (a.metadata_context?.filter_metadata ?? {}) as Record<string, Obj>;
  let count = 0;
  for (const filter of Object.values(fm)) {
    for (const [k, v] of Object.entries((filter?.fields ?? {}) as Record<string, Obj>)) {
      if (++count > LIMITS.metadataKeys)
        return { ok: false, errors: `more than ${LIMITS.metadataKeys} filter metadata fields` };
      const type = manifest.get(k);
      const sv = v?.stringValue ?? v?.string_value;
      if (!type || sv === undefined) continue;
      const val = valueFromText(String(sv), type);
      if (val !== undefined && bag.get(k) === undefined) bag.set(k, val);
    }
  }
  return { ok: true, value: bag };
}
