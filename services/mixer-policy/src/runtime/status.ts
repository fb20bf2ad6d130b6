// Istio's status mapping (mixer/pkg/status HTTPStatusFromCode) and code names: one table at the edge.
import { Code } from '../adapters/types.js';

const HTTP: Record<number, number> = {
  [Code.OK]: 200,
  [Code.INVALID_ARGUMENT]: 400,
  [Code.UNAUTHENTICATED]: 401,
  [Code.PERMISSION_DENIED]: 403,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.ABORTED]: 409,
  [Code.FAILED_PRECONDITION]: 412,
  [Code.RESOURCE_EXHAUSTED]: 429,
  [Code.UNAVAILABLE]: 503,
  [Code.DEADLINE_EXCEEDED]: 504,
  [Code.UNIMPLEMENTED]: 501,
};

/** The HTTP status Envoy returns for a google.rpc.Code (500 for anything unlisted). */
export function httpStatusFromCode(code: number): number {
  return HTTP[code] ?? 500;
}

const NAMES = new Map(Object.entries(Code).map(([k, v]) => [v as number, k]));

/** `PERMISSION_DENIED` for 7, `CODE(99)` for unknown codes. */
export function codeName(code: number): string {
  return NAMES.get(code) ?? `CODE(${code})`;
}
