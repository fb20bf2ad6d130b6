import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { allIncludeDirs } from './paths.js';
import { ENVOY_FILES, KEEL_FILES } from './roots.js';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  json: true,
  includeDirs: allIncludeDirs(),
};

let pkg: grpc.GrpcObject | undefined;

/** grpc-js package object for every Keel and Envoy service (proto-loader, keepCase, enums as strings). */
export function grpcPackage(): grpc.GrpcObject {
  pkg ??= grpc.loadPackageDefinition(protoLoader.loadSync([...KEEL_FILES, ...ENVOY_FILES], LOADER_OPTIONS));
  return pkg;
}

/** A service definition by full name, e.g. `istio.mcp.v1alpha1.ResourceSource`. */
export function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  return serviceClient(fullName).service;
}

/** The generated client constructor for a service by full name. */
export function serviceClient(fullName: string): grpc.ServiceClientConstructor {
  let node: unknown = grpcPackage();
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)?.[part];
  if (typeof node !== 'function' || !('service' in node)) throw new Error(`unknown gRPC service ${fullName}`);
  return node as grpc.ServiceClientConstructor;
}
