export {
  type Bag,
  bagToJson,
  ChildBag,
  Condition,
  MapBag,
  ReferencedAttributes,
  type ReferenceShape,
  referenceSignature,
} from './bag.js';
export {
  applyCompressed,
  attributesFromProto,
  type CompressedAttributesMessage,
  decodeCompressed,
  decodeReport,
  type EncodedReport,
  encodeCompressed,
  encodeReport,
  MAX_ATTRIBUTES,
  type ReportRequestMessage,
  referencedToProto,
  valueFromText,
  WordTable,
} from './compressed.js';
export { GLOBAL_WORD_COUNT, GLOBAL_WORDS, globalWordIndex } from './dictionary.js';
export { type CheckedExpression, checkExpression } from './expr/check.js';
export { type CompiledExpression, compileChecked, compileExpression } from './expr/compile.js';
export { compileRegex, EvaluationError, FUNCTIONS, type FunctionDef, globMatch } from './expr/functions.js';
export {
  ExprError,
  MAX_EXPRESSION_DEPTH,
  MAX_EXPRESSION_LENGTH,
  type Node,
  type Position,
  parseExpression,
} from './expr/parse.js';
export {
  type AttributeValue,
  type Cidr,
  cidrContains,
  Duration,
  formatDuration,
  formatIp,
  type IpAddress,
  inferType,
  ipEqual,
  parseCidr,
  parseGoDuration,
  parseIp,
  type StringMap,
  ValueType,
  type ValueTypeName,
  valueKey,
  valuesEqual,
} from './values.js';
export {
  type AttributeManifest,
  type AttributeManifestSpec,
  DEFAULT_MANIFEST,
  manifestFromSpec,
  mergeManifests,
} from './vocabulary.js';
