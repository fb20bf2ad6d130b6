// Helpers shared by the route, gateway and gRPC tests.
import assert from 'node:assert/strict';
import { findUnknownFields, toProtoJson } from '@keel/proto';

export const ROUTE_CONFIGURATION = 'envoy.config.route.v3.RouteConfiguration';
export const LISTENER = 'envoy.config.listener.v3.Listener';

/** Asserts no unknown fields and returns canonical proto-JSON. */
export function checkedJson(typeName: string, obj: unknown): Record<string, any> {
  assert.deepEqual(findUnknownFields(typeName, obj), [], `unknown fields in ${typeName}`);
  return toProtoJson(typeName, obj) as Record<string, any>;
}
