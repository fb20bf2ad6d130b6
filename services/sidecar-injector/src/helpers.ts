import Handlebars from 'handlebars';

/**
 * The template helpers of Istio 1.4's injector (`annotation`, `valueOrDefault`, `isset`, `toJSON`,
 * `fromJSON`, `formatDuration`, `applicationPorts`, `includeInboundPorts`, `excludeInboundPort`,
 * `toLower`, `directory`, `contains`, `render`) plus what Handlebars needs for Go's built-ins
 * (`eq`, `ne`, `gt`, `and`, `or`, `not`, `concat`) and for safe YAML (`quote`, `intOrString`,
 * `podPorts`, `metaJSON`). Pure functions of their arguments; Handlebars passes an options hash last.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Handlebars appends its options object to every helper call; drop it. */
function args(list: unknown[]): unknown[] {
  return list.slice(0, -1);
}

/** Go template truthiness: false, 0, "", nil, empty slice or map are false. */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObj(v)) return Object.keys(v).length > 0;
  return true;
}

/** Value of annotation `name` in `meta.annotations` when present, else `dflt` (as given). */
export function annotation(meta: unknown, name: string, dflt: unknown): unknown {
  const annotations = isObj(meta) && isObj(meta.annotations) ? meta.annotations : undefined;
  if (annotations && Object.hasOwn(annotations, name)) return annotations[name];
  return dflt;
}

/** Go's time.Duration String(): 45s, 1m0s, 1h0m0s, 100ms, 1.5s. Accepts "60s", "1m", seconds as numbers. */
export function formatDuration(v: unknown): string {
  const ms = toMillis(v);
  if (ms === undefined) return String(v ?? '');
  if (ms === 0) return '0s';
  if (ms < 1000) return `${trim(ms)}ms`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const s = `${trim(Number(rest.toFixed(9)))}s`;
  if (h > 0) return `${h}h${m}m${s}`;
  if (m > 0) return `${m}m${s}`;
  return s;
}

function trim(n: number): string {
  return String(Number(n.toFixed(9)));
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 };

function toMillis(v: unknown): number | undefined {
  if (typeof v === 'number') return v * 1000;
  if (isObj(v) && (v.seconds !== undefined || v.nanos !== undefined)) {
    return Number(v.seconds ?? 0) * 1000 + Number(v.nanos ?? 0) / 1e6;
  }
  if (typeof v !== 'string' || v === '') return undefined;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(v); m !== null; m = re.exec(v)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed += m[0].length;
  }
  return consumed === v.length ? total : undefined;
}

interface ContainerPort {
  name?: string;
  hostPort?: number;
  containerPort?: number;
  protocol?: string;
  hostIP?: string;
}

function containersOf(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObj) : [];
}

function portsOf(c: Obj): ContainerPort[] {
  return Array.isArray(c.ports) ? (c.ports.filter(isObj) as ContainerPort[]) : [];
}

/** Comma list of every TCP container port (Istio's `applicationPorts`), the proxy excluded. */
export function applicationPorts(containers: unknown): string {
  const out: string[] = [];
  for (const c of containersOf(containers)) {
    if (c.name === 'istio-proxy') continue;
    for (const p of portsOf(c)) {
      if (p.protocol === undefined || p.protocol === '' || p.protocol === 'TCP')
        out.push(String(p.containerPort));
    }
  }
  return out.join(',');
}

/** Comma list of every container port (Istio's `includeInboundPorts`). */
export function includeInboundPorts(containers: unknown): string {
  const out: string[] = [];
  for (const c of containersOf(containers)) for (const p of portsOf(c)) out.push(String(p.containerPort));
  return out.join(',');
}

/** Adds the status port to an excluded-inbound-ports list unless it is 0 or already there. */
export function excludeInboundPort(port: unknown, excluded: unknown): string {
  const p = String(port ?? '').trim();
  const list = String(excluded ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (p === '' || p === '0' || list.includes(p)) return list.join(',');
  return [...list, p].join(',');
}

/**
 * One ContainerPort as Go's encoding/json writes it (field order name, hostPort, containerPort,
 * protocol, hostIP; empty fields omitted).
 */
function portJSON(p: ContainerPort): string {
  const o: Obj = {};
  if (p.name) o.name = p.name;
  if (p.hostPort) o.hostPort = p.hostPort;
  if (p.containerPort) o.containerPort = p.containerPort;
  if (p.protocol) o.protocol = p.protocol;
  if (p.hostIP) o.hostIP = p.hostIP;
  return escapeGo(JSON.stringify(o));
}

/** ISTIO_META_POD_PORTS: one port object per line, four spaces in, commas leading, as 1.4 renders it. */
export function podPorts(containers: unknown): string {
  const lines: string[] = [];
  for (const c of containersOf(containers)) {
    for (const p of portsOf(c)) lines.push(`    ${lines.length > 0 ? ',' : ''}${portJSON(p)}`);
  }
  return lines.length === 0 ? '[\n]' : `[\n${lines.join('\n')}\n]`;
}

/** JSON with object keys sorted and <, >, & escaped: what Go's json.Marshal writes for maps. */
export function goJSON(v: unknown): string {
  return escapeGo(JSON.stringify(sortKeys(v)));
}

function escapeGo(json: string): string {
  return json.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
  return out;
}

/** ISTIO_METAJSON_*: the map as Go JSON plus the newline of the template's `|` block. */
export function metaJSON(v: unknown): string {
  return `${goJSON(v ?? {})}\n`;
}

/** A YAML-safe double-quoted scalar of the value's text (every user value goes through this). */
export function quote(v: unknown): string {
  return JSON.stringify(v === undefined || v === null ? '' : typeof v === 'string' ? v : String(v));
}

/** A number when the text is an unsigned integer, else the text: for IntOrString fields. */
export function intOrString(v: unknown): number | string {
  const s = String(v ?? '').trim();
  return /^\d{1,9}$/.test(s) ? Number(s) : s;
}

/** Registers every helper on a fresh Handlebars environment. */
export function createTemplateEngine(): typeof Handlebars {
  const hb = Handlebars.create();
  // `if`/`unless` with Go's truthiness (an empty map is false), so ported conditions keep their meaning.
  hb.registerHelper('if', function (this: unknown, cond: unknown, options: Handlebars.HelperOptions) {
    return truthy(cond) ? options.fn(this) : options.inverse(this);
  });
  hb.registerHelper('unless', function (this: unknown, cond: unknown, options: Handlebars.HelperOptions) {
    return truthy(cond) ? options.inverse(this) : options.fn(this);
  });
  // Fixed-arity helpers get their arguments as they are (Handlebars' trailing options argument is
  // simply not read) after an arity check; only the variadic ones (`and`, `or`, `concat`) copy them.
  const h = (name: string, fn: (...a: any[]) => unknown) =>
    hb.registerHelper(name, (...all: unknown[]) => {
      if (all.length - 1 !== fn.length) {
        throw new Error(`${name} takes ${fn.length} argument(s), got ${all.length - 1}`);
      }
      return fn(...all);
    });
  const variadic = (name: string, fn: (...a: any[]) => unknown) =>
    hb.registerHelper(name, (...all: unknown[]) => fn(...args(all)));
  h('eq', (a, b) => a === b || (a !== undefined && b !== undefined && String(a) === String(b)));
  h('ne', (a, b) => !(a === b || (a !== undefined && b !== undefined && String(a) === String(b))));
  h('gt', (a, b) => Number(a) > Number(b));
  variadic('and', (...v) => v.every(truthy));
  variadic('or', (...v) => v.find(truthy) ?? v[v.length - 1]);
  h('not', (v) => !truthy(v));
  variadic('concat', (...v) => v.map((x) => (x === undefined || x === null ? '' : String(x))).join(''));
  h('annotation', annotation);
  h('valueOrDefault', (v, d) => (truthy(v) ? v : d));
  h('isset', (m, k) => isObj(m) && Object.hasOwn(m, String(k)));
  h('index', (m, k) => (isObj(m) ? m[String(k)] : Array.isArray(m) ? m[Number(k)] : undefined) ?? '');
  h('toJSON', (v) => goJSON(v ?? null));
  h('fromJSON', (s) => {
    try {
      return JSON.parse(String(s));
    } catch {
      return {};
    }
  });
  h('formatDuration', formatDuration);
  h('applicationPorts', applicationPorts);
  h('includeInboundPorts', includeInboundPorts);
  h('excludeInboundPort', excludeInboundPort);
  h('toLower', (s) => String(s ?? '').toLowerCase());
  h('contains', (needle, hay) => String(hay ?? '').includes(String(needle)));
  h('directory', (p) => {
    const s = String(p ?? '');
    const i = s.lastIndexOf('/');
    return i <= 0 ? (i === 0 ? '/' : '.') : s.slice(0, i);
  });
  h('quote', quote);
  h('intOrString', intOrString);
  h('podPorts', podPorts);
  h('metaJSON', metaJSON);
  h('volumeNamed', (name, v) => ({ name: String(name), ...(isObj(v) ? v : {}) }));
  const rendered = new Map<string, Handlebars.TemplateDelegate>();
  hb.registerHelper('render', function (this: unknown, text: unknown, options: Handlebars.HelperOptions) {
    const src = String(text ?? '');
    let fn = rendered.get(src);
    if (!fn) {
      fn = hb.compile(src, { noEscape: true });
      if (rendered.size < 256) rendered.set(src, fn);
    }
    return fn(options.data?.root ?? this);
  });
  return hb;
}
