export {
  type AnyMessage,
  decodeMessage,
  encodeMessage,
  jsonToStruct,
  jsonToValue,
  packAny,
  packStruct,
  type StructMessage,
  structToJson,
  typed,
  unpackAny,
  unpackStruct,
  type ValueMessage,
  valueToJson,
} from './any.js';
export { grpcPackage, LOADER_OPTIONS, serviceClient, serviceDefinition } from './grpc.js';
export { bytesToProtoJson, findUnknownFields, messageToJson, toProtoJson } from './json.js';
export { allIncludeDirs, envoyIncludeDirs, keelProtoDir } from './paths.js';
export { ENVOY_FILES, KEEL_FILES, lookupType, newRoot, protoRoot } from './roots.js';
export {
  shortTypeName,
  TYPE_PREFIX,
  TypeName,
  TypeUrl,
  typeNameOf,
  typeUrlOf,
  XDS_ORDER,
  type XdsTypeUrl,
} from './type-urls.js';
