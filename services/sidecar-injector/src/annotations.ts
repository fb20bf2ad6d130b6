import { isIP } from 'node:net';
import { deeperThan } from './depth.js';

/** Checks the annotations the template reads (Istio 1.4's annotation validators); every error is listed. */
type Check = (value: string) => string | undefined;

const portList: Check = (v) => {
  for (const p of v.split(',').map((s) => s.trim())) {
    if (p === '') continue;
    if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) return `"${p}" is not a port`;
  }
  return undefined;
};
const portListOrStar: Check = (v) => (v.trim() === '*' ? undefined : portList(v));
const port: Check = (v) => (/^\d{1,5}$/.test(v) && Number(v) <= 65535 ? undefined : `"${v}" is not a port`);
const uint32: Check = (v) =>
  /^\d{1,10}$/.test(v) && Number(v) <= 4294967295 ? undefined : `"${v}" is not an unsigned integer`;
const cidrList: Check = (v) => {
  for (const c of v.split(',').map((s) => s.trim())) {
    if (c === '') continue;
    const [ip, bits, extra] = c.split('/');
    const family = isIP(ip ?? '');
    const max = family === 4 ? 32 : 128;
    if (extra !== undefined || family === 0 || !/^\d{1,3}$/.test(bits ?? '') || Number(bits) > max) {
      return `"${c}" is not a CIDR`;
    }
  }
  return undefined;
};
const cidrListOrStar: Check = (v) => (v.trim() === '*' ? undefined : cidrList(v));
const oneOf =
  (...allowed: string[]): Check =>
  (v) =>
    allowed.includes(v) ? undefined : `must be one of ${allowed.join(', ')}`;
const quantity: Check = (v) =>
  /^[+]?(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e\d+)?$/.test(v)
    ? undefined
    : `"${v}" is not a resource quantity`;
const jsonObjectOfObjects: Check = (v) => {
  try {
    const o = JSON.parse(v) as unknown;
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return 'must be a JSON object';
    if (deeperThan(o, 16)) return 'nests deeper than 16 levels';
    for (const [k, x] of Object.entries(o)) {
      if (x === null || typeof x !== 'object' || Array.isArray(x)) return `entry ${k} must be an object`;
    }
    return undefined;
  } catch {
    return 'is not valid JSON';
  }
};

const CHECKS: Record<string, Check> = {
  'sidecar.istio.io/interceptionMode': oneOf('REDIRECT', 'TPROXY', 'NONE'),
  'sidecar.istio.io/controlPlaneAuthPolicy': oneOf('NONE', 'MUTUAL_TLS'),
  'sidecar.istio.io/proxyCPU': quantity,
  'sidecar.istio.io/proxyMemory': quantity,
  'sidecar.istio.io/userVolume': jsonObjectOfObjects,
  'sidecar.istio.io/userVolumeMount': jsonObjectOfObjects,
  'status.sidecar.istio.io/port': port,
  'readiness.status.sidecar.istio.io/initialDelaySeconds': uint32,
  'readiness.status.sidecar.istio.io/periodSeconds': uint32,
  'readiness.status.sidecar.istio.io/failureThreshold': uint32,
  'readiness.status.sidecar.istio.io/applicationPorts': portList,
  'traffic.sidecar.istio.io/includeOutboundIPRanges': cidrListOrStar,
  'traffic.sidecar.istio.io/excludeOutboundIPRanges': cidrList,
  'traffic.sidecar.istio.io/includeInboundPorts': portListOrStar,
  'traffic.sidecar.istio.io/excludeInboundPorts': portList,
  'traffic.sidecar.istio.io/excludeOutboundPorts': portList,
};

/** Errors of the form `annotation NAME: problem`, for every annotation whose value is unusable. */
export function validateAnnotations(annotations: Record<string, unknown> | undefined): string[] {
  const errors: string[] = [];
  for (const [name, value] of Object.entries(annotations ?? {})) {
    const check = CHECKS[name];
    if (!check) continue;
    const problem = typeof value !== 'string' ? 'must be a string' : check(value);
    if (problem) errors.push(`annotation ${name}: ${problem}`);
  }
  return errors;
}
