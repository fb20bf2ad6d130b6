import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { TypeUrl, typed } from '@keel/proto';
import { silentLogger } from '@keel/runtime';
import {
  createXdsServer,
  makeResource,
  SnapshotCache,
  type StreamInfo,
  type XdsResource,
  type XdsServer,
} from '../src/index.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' };

/** A Listener whose api_listener HCM takes routes `routeName` over ADS. */
export function apiListener(name: string, routeName: string, statPrefix = 'test'): XdsResource {
  return makeResource(TypeUrl.Listener, name, {
    name,
    api_listener: {
      api_listener: typed(HCM, {
        stat_prefix: statPrefix,
        rds: { route_config_name: routeName, config_source: ADS_SOURCE },
        http_filters: [
          {
            name: 'envoy.filters.http.router',
            typed_config: typed('envoy.extensions.filters.http.router.v3.Router', {}),
          },
        ],
      }),
    },
  });
}

export function routeConfig(name: string, cluster: string): XdsResource {
  return makeResource(TypeUrl.RouteConfiguration, name, {
    name,
    virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster } }] }],
  });
}

export function edsCluster(name: string, lbPolicy = 'ROUND_ROBIN'): XdsResource {
  return makeResource(TypeUrl.Cluster, name, {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_SOURCE, service_name: name },
    lb_policy: lbPolicy,
    connect_timeout: { seconds: 1 },
  });
}

export function endpoints(cluster: string, ...ports: number[]): XdsResource {
  return makeResource(TypeUrl.ClusterLoadAssignment, cluster, {
    cluster_name: cluster,
    endpoints: [
      {
        locality: {},
        load_balancing_weight: { value: 1 },
        lb_endpoints: ports.map((port) => ({
          endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
        })),
      },
    ],
  });
}

/** Callback events of the server under test, as an emitter (event name = callback name). */
export interface Harness {
  cache: SnapshotCache;
  xds: XdsServer;
  events: EventEmitter;
  address: string;
  stop(): Promise<void>;
}

export async function startXds(
  sendTimeoutMs?: number,
  frames?: { retainBytes?: number; recentMs?: number },
): Promise<Harness> {
  const cache = new SnapshotCache();
  const events = new EventEmitter();
  const emit =
    (name: string) =>
    (...args: unknown[]) =>
      events.emit(name, ...args);
  const xds = createXdsServer({
    cache,
    logger: silentLogger,
    sendTimeoutMs,
    frames,
    callbacks: {
      onStreamOpen: emit('open'),
      onStreamClose: emit('close'),
      onRequest: emit('request'),
      onAck: emit('ack'),
      onNack: emit('nack'),
      onResponse: emit('response'),
    },
  });
  const server = new grpc.Server();
  xds.addTo(server);
  const port = await bind(server);
  return {
    cache,
    xds,
    events,
    address: `127.0.0.1:${port}`,
    stop: async () => {
      xds.close();
      server.forceShutdown();
    },
  };
}

export function bind(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

/** Resolves with the first event `name` whose arguments satisfy `match`, or rejects after `ms`. */
export function waitEvent<T extends unknown[]>(
  events: EventEmitter,
  name: string,
  match: (...args: T) => boolean = () => true,
  ms = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      events.off(name, listener);
      reject(new Error(`timed out waiting for ${name}`));
    }, ms);
    const listener = (...args: unknown[]) => {
      if (!match(...(args as T))) return;
      clearTimeout(timer);
      events.off(name, listener);
      resolve(args as T);
    };
    events.on(name, listener);
  });
}

/** Waits until `n` events `name` matching `match` have been seen. */
export async function waitEvents(
  events: EventEmitter,
  name: string,
  n: number,
  match?: (...a: any[]) => boolean,
) {
  let seen = 0;
  await waitEvent(events, name, (...args: unknown[]) => (!match || match(...args)) && ++seen >= n);
}

export function streamOf(xds: XdsServer, nodeId: string): StreamInfo {
  const s = xds.streams().find((x) => x.node.id === nodeId);
  if (!s) throw new Error(`no stream for ${nodeId}`);
  return s;
}

/** A bidi call as an async queue of messages, with its final status. */
export class CallQueue<T> {
  private readonly items: T[] = [];
  private readonly emitter = new EventEmitter();
  readonly status: Promise<grpc.StatusObject>;

  constructor(readonly call: grpc.ClientDuplexStream<any, T>) {
    call.on('data', (m: T) => {
      this.items.push(m);
      this.emitter.emit('item');
    });
    call.on('error', () => {});
    this.status = new Promise((resolve) => call.on('status', resolve));
  }

  async next(ms = 5000): Promise<T> {
    if (this.items.length === 0) await waitEvent(this.emitter, 'item', () => true, ms);
    return this.items.shift()!;
  }

  pending(): number {
    return this.items.length;
  }

  write(message: object): void {
    this.call.write(message);
  }
}
