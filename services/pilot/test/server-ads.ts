// A raw ADS client (SotW or delta) as an async queue of responses.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { jsonToStruct, serviceClient } from '@keel/proto';
import { waitEvent } from './server-harness.js';

export interface AdsResponse {
  version_info?: string;
  system_version_info?: string;
  type_url: string;
  nonce: string;
  resources: any[];
}

/** An Envoy-style sidecar node in `default` (generator envoy). */
export function sidecarNode(pod: string, ip: string, labels: Record<string, string> = { app: 'sleep' }) {
  const metadata = { ISTIO_VERSION: '1.4.10', NAMESPACE: 'default', INSTANCE_IPS: ip, LABELS: labels };
  return { id: `sidecar~${ip}~${pod}.default~default.svc.cluster.local`, cluster: 'sleep.default', metadata };
}

export class AdsClient {
  private readonly items: AdsResponse[] = [];
  private readonly emitter = new EventEmitter();
  readonly client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<object, AdsResponse>;
  readonly status: Promise<grpc.StatusObject>;
  readonly node: object;

  constructor(
    address: string,
    node: { id: string; cluster: string; metadata: Record<string, unknown> },
    delta = false,
  ) {
    const Ads = serviceClient('envoy.service.discovery.v3.AggregatedDiscoveryService');
    this.client = new Ads(address, grpc.credentials.createInsecure());
    this.node = { ...node, metadata: jsonToStruct(node.metadata) };
    const c = this.client as any;
    this.call = delta ? c.DeltaAggregatedResources() : c.StreamAggregatedResources();
    this.call.on('data', (m: AdsResponse) => {
      this.items.push(m);
      this.emitter.emit('item');
    });
    this.call.on('error', () => {});
    this.status = new Promise((resolve) => this.call.on('status', resolve));
  }

  async next(ms = 5000): Promise<AdsResponse> {
    if (this.items.length === 0) await waitEvent(this.emitter, 'item', () => true, ms);
    return this.items.shift()!;
  }

  pending(): number {
    return this.items.length;
  }

  write(req: object): void {
    this.call.write({ node: this.node, ...req });
  }

  close(): void {
    this.call.end();
    this.client.close();
  }
}
