// Port protocol rules (Istio 1.4 `kube.ConvertProtocol` and `protocol.Parse`).
import type { Protocol } from './types.js';

const BY_NAME: Record<string, Protocol> = {
  http: 'HTTP',
  http2: 'HTTP2',
  grpc: 'GRPC',
  'grpc-web': 'GRPC-Web',
  https: 'HTTPS',
  tcp: 'TCP',
  tls: 'TLS',
  mongo: 'Mongo',
  redis: 'Redis',
  mysql: 'MySQL',
  udp: 'UDP',
};

/** Ports that default to TCP when their name names no protocol. */
const WELL_KNOWN_TCP_PORTS = new Set([25, 53, 3306, 27017]);

/** A protocol name as written in a ServiceEntry or Gateway (`HTTP`, `grpc`, `MONGO`); case-insensitive. */
export function parseProtocol(name: string | undefined): Protocol {
  if (!name) return 'Unsupported';
  return BY_NAME[name.toLowerCase()] ?? 'Unsupported';
}

/**
 * Protocol of a Kubernetes Service port: UDP when the k8s protocol is UDP, else the port-name prefix
 * before `-` (`grpc-web` as a whole), else TCP for well-known ports, else Unsupported (sniffed).
 */
export function protocolFromPortName(name: string | undefined, port: number, k8sProtocol?: string): Protocol {
  if (k8sProtocol?.toUpperCase() === 'UDP') return 'UDP';
  const n = (name ?? '').toLowerCase();
  if (n.startsWith('grpc-web')) return 'GRPC-Web';
  const dash = n.indexOf('-');
  const p = parseProtocol(dash >= 0 ? n.slice(0, dash) : n);
  if (p === 'Unsupported' && WELL_KNOWN_TCP_PORTS.has(port)) return 'TCP';
  return p;
}

/** HTTP/1.1 or HTTP/2 family (gets an HTTP connection manager). */
export function isHttpProtocol(p: Protocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-Web';
}

/** Protocols whose upstream connections speak HTTP/2. */
export function isHttp2Protocol(p: Protocol): boolean {
  return p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-Web';
}

/** Protocols carried by a TCP proxy (including TLS passthrough and the Mongo/Redis/MySQL filters). */
export function isTcpProtocol(p: Protocol): boolean {
  return p === 'TCP' || p === 'HTTPS' || p === 'TLS' || p === 'Mongo' || p === 'Redis' || p === 'MySQL';
}
