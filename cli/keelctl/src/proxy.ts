// keelctl proxy-status and proxy-config: what every Pilot replica serves, gathered over NATS
// request/reply (keel.pilot.status, keel.pilot.config_dump), printed the way istioctl 1.4 prints it.
import {
  connectBus,
  type PilotConfigDumpReply,
  type PilotStatusReply,
  type ProxySyncStatus,
  Subjects,
} from '@keel/bus';
import { type CliIO, PROXY_USAGE } from './cli.js';

export interface ProxyArgs {
  positional: string[];
  natsUrl?: string;
  timeoutMs: number;
  output: 'short' | 'json';
}

/** Parses the flags shared by proxy-status and proxy-config; a string is a usage error. */
export function parseProxyArgs(args: readonly string[]): ProxyArgs | string {
  const out: ProxyArgs = { positional: [], timeoutMs: 2000, output: 'short' };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const [flag, inline] =
      arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? args[++i];
    if (flag === '--nats-url') {
      const v = value();
      if (!v) return '--nats-url needs a URL';
      out.natsUrl = v;
    } else if (flag === '--timeout') {
      const v = Number(value());
      if (!Number.isInteger(v) || v <= 0 || v > 60_000)
        return '--timeout needs milliseconds between 1 and 60000';
      out.timeoutMs = v;
    } else if (flag === '-o' || flag === '--output') {
      const v = value();
      if (v !== 'short' && v !== 'json') return `${flag} must be short or json`;
      out.output = v;
    } else if (flag.startsWith('-')) {
      return `unknown option ${arg}`;
    } else {
      out.positional.push(arg);
    }
  }
  return out;
}

/** `<pod>.<namespace>` of a node id `type~ip~pod.ns~domain` (the id itself when it has another shape). */
export function proxyName(nodeId: string): string {
  const parts = nodeId.split('~');
  return parts.length === 4 ? parts[2]! : nodeId;
}

/** Left-aligned columns separated by at least three spaces (istioctl's tabwriter look). */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** proxy-status rows from every replica's reply, sorted by proxy then pilot. */
export function formatProxyStatus(replies: readonly PilotStatusReply[], only?: string): string[] {
  const rows: string[][] = [];
  for (const reply of replies) {
    for (const p of reply.proxies as ProxySyncStatus[]) {
      const name = proxyName(p.proxy);
      if (only && name !== only && p.proxy !== only) continue;
      rows.push([name, p.cds, p.lds, p.eds, p.rds, reply.pilot, p.version ?? '']);
    }
  }
  rows.sort((a, b) => (a[0]! + a[5]! < b[0]! + b[5]! ? -1 : 1));
  return table(['NAME', 'CDS', 'LDS', 'EDS', 'RDS', 'PILOT', 'VERSION'], rows);
}

type Json = Record<string, any>;

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Field `key` (snake_case) of a config dump object, in either proto-JSON spelling. */
function f(o: Json | undefined, key: string): any {
  if (!o) return undefined;
  return o[key] ?? o[camel(key)];
}

function dumpSection(dump: { configs: Json[] }, suffix: string): Json {
  return dump.configs.find((c) => String(c['@type'] ?? '').endsWith(suffix)) ?? {};
}

/** istioctl's cluster view: `direction|port|subset|fqdn` names split into columns. */
export function formatClusters(dump: { configs: Json[] }): string[] {
  const list = ((f(dumpSection(dump, 'ClustersConfigDump'), 'dynamic_active_clusters') ?? []) as Json[]).map(
    (c) => c.cluster as Json,
  );
  const rows = list.map((c) => {
    const parts = String(c.name).split('|');
    if (parts.length === 4) {
      const [direction, port, subset, fqdn] = parts as [string, string, string, string];
      return [fqdn, port, subset || '-', direction, String(c.type ?? 'EDS')];
    }
    return [String(c.name), '-', '-', '-', String(c.type ?? 'STATIC')];
  });
  return table(['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE'], rows);
}

/** Listener view: address and port, or the API listener name of a proxyless client. */
export function formatListeners(dump: { configs: Json[] }): string[] {
  const list = ((f(dumpSection(dump, 'ListenersConfigDump'), 'dynamic_listeners') ?? []) as Json[]).map(
    (l) => f(l, 'active_state')?.listener as Json,
  );
  const rows = list.filter(Boolean).map((l) => {
    const sa = f(l.address, 'socket_address') as Json | undefined;
    if (f(l, 'api_listener')) return [String(l.name), '-', 'API (gRPC)'];
    const chains = (f(l, 'filter_chains') ?? []) as Json[];
    const http = chains.some((fc) =>
      ((fc.filters ?? []) as Json[]).some((flt) => String(flt.name).includes('http_connection_manager')),
    );
    return [String(sa?.address ?? ''), String(f(sa, 'port_value') ?? ''), http ? 'HTTP' : 'TCP'];
  });
  return table(['ADDRESS', 'PORT', 'TYPE'], rows);
}

/** Route view: each RDS route configuration and the names of its virtual hosts. */
export function formatRoutes(dump: { configs: Json[] }): string[] {
  const list = ((f(dumpSection(dump, 'RoutesConfigDump'), 'dynamic_route_configs') ?? []) as Json[]).map(
    (r) => f(r, 'route_config') as Json,
  );
  const rows = list.map((r) => {
    const vhosts = ((f(r, 'virtual_hosts') ?? []) as Json[]).map((v) => String(v.name));
    return [String(r.name), vhosts.length > 0 ? vhosts.join(', ') : '-'];
  });
  return [
    'NOTE: This output only contains routes loaded via RDS.',
    ...table(['NAME', 'VIRTUAL HOSTS'], rows),
  ];
}

/** Endpoint view: every EDS endpoint with its health status and cluster. */
export function formatEndpoints(dump: { configs: Json[] }): string[] {
  const list = (
    (f(dumpSection(dump, 'EndpointsConfigDump'), 'dynamic_endpoint_configs') ?? []) as Json[]
  ).map((e) => f(e, 'endpoint_config') as Json);
  const rows: string[][] = [];
  for (const cla of list) {
    for (const loc of (cla.endpoints ?? []) as Json[]) {
      for (const lb of (f(loc, 'lb_endpoints') ?? []) as Json[]) {
        const sa = f(lb.endpoint?.address, 'socket_address') as Json | undefined;
        const health = f(lb, 'health_status');
        const status = health && health !== 'UNKNOWN' ? String(health) : 'HEALTHY';
        rows.push([
          `${sa?.address ?? ''}:${f(sa, 'port_value') ?? ''}`,
          status,
          String(f(cla, 'cluster_name')),
        ]);
      }
    }
  }
  return table(['ENDPOINT', 'STATUS', 'CLUSTER'], rows);
}

const VIEWS = {
  cluster: formatClusters,
  listener: formatListeners,
  route: formatRoutes,
  endpoint: formatEndpoints,
} as const;

async function withBus<T>(
  args: ProxyArgs,
  io: CliIO,
  run: (b: Awaited<ReturnType<typeof connectBus>>) => Promise<T>,
) {
  const url = args.natsUrl ?? process.env.KEEL_NATS_URL ?? 'nats://127.0.0.1:4222';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), args.timeoutMs);
  });
  const pending = connectBus({ url, name: 'keelctl' });
  const bus = await Promise.race([pending, timeout]);
  clearTimeout(timer);
  if (!bus) {
    io.stderr(`keelctl: cannot reach NATS at ${url} within ${args.timeoutMs} ms`);
    // The connection keeps retrying in the background: do not let it hold the process open.
    void pending.then((b) => b.close()).catch(() => {});
    setTimeout(() => process.exit(1), 50).unref();
    return undefined;
  }
  try {
    return { value: await run(bus) };
  } finally {
    await bus.close();
  }
}

export async function runProxyStatus(args: ProxyArgs, io: CliIO): Promise<number> {
  if (args.positional.length > 1) {
    io.stderr('keelctl proxy-status: at most one <pod>.<namespace>');
    return 2;
  }
  const res = await withBus(args, io, (bus) =>
    bus.requestMany<PilotStatusReply>(Subjects.pilotStatus, {}, args.timeoutMs),
  );
  if (!res) return 1;
  const replies = res.value.filter((r) => r && typeof r.pilot === 'string' && Array.isArray(r.proxies));
  if (replies.length === 0) {
    io.stderr('keelctl proxy-status: no Pilot replica answered on keel.pilot.status');
    return 1;
  }
  if (args.output === 'json') io.stdout(JSON.stringify(replies, null, 2));
  else for (const line of formatProxyStatus(replies, args.positional[0])) io.stdout(line);
  return 0;
}

export async function runProxyConfig(args: ProxyArgs, io: CliIO): Promise<number> {
  const [kind, id] = args.positional;
  if (!kind || !(kind in VIEWS) || !id || args.positional.length > 2) {
    io.stderr(
      `keelctl proxy-config: want cluster|listener|route|endpoint <pod>.<namespace>\n\n${PROXY_USAGE}`,
    );
    return 2;
  }
  const res = await withBus(args, io, (bus) =>
    bus.requestMany<PilotConfigDumpReply>(Subjects.pilotConfigDump, { proxyID: id }, args.timeoutMs),
  );
  if (!res) return 1;
  const found = res.value.find((r) => r?.ok === true);
  if (!found?.ok) {
    const why = res.value.map((r) => (r && !r.ok ? `${r.pilot}: ${r.error}` : '')).filter(Boolean);
    io.stderr(
      `keelctl proxy-config: no Pilot replica serves ${id}${why.length > 0 ? ` (${why.join('; ')})` : ' (no replica answered)'}`,
    );
    return 1;
  }
  if (args.output === 'json') {
    io.stdout(JSON.stringify(found.dump, null, 2));
    return 0;
  }
  for (const line of VIEWS[kind as keyof typeof VIEWS](found.dump)) io.stdout(line);
  return 0;
}
