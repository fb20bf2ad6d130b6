import { Errors, type Obj, type SpecValidator } from './common.js';
import { checkDestinationRule } from './networking-dr.js';
import { checkGateway, checkServiceEntry } from './networking-gateway.js';
import { normalizeMessage } from './networking-normalize.js';
import { checkEnvoyFilter, checkSidecar } from './networking-sidecar.js';
import { checkVirtualService } from './networking-vs.js';

type Check = (spec: Obj, meta: { name: string; namespace?: string }, e: Errors) => void;

/** Schema check (unknown fields, JSON types, enums, oneofs) followed by Istio 1.4's semantic checks. */
function validator(message: string, check: Check): SpecValidator {
  return (spec, meta) => {
    const e = new Errors();
    const normalized = normalizeMessage(spec ?? {}, message, '', e);
    check(normalized, meta, e);
    return e.list;
  };
}

export const validateVirtualService: SpecValidator = validator('VirtualService', (s, _m, e) =>
  checkVirtualService(s, e),
);
export const validateDestinationRule: SpecValidator = validator('DestinationRule', (s, _m, e) =>
  checkDestinationRule(s, e),
);
export const validateGateway: SpecValidator = validator('Gateway', (s, m, e) => checkGateway(s, m.name, e));
export const validateServiceEntry: SpecValidator = validator('ServiceEntry', (s, _m, e) =>
  checkServiceEntry(s, e),
);
export const validateSidecar: SpecValidator = validator('Sidecar', (s, _m, e) => checkSidecar(s, e));
export const validateEnvoyFilter: SpecValidator = validator('EnvoyFilter', (s, _m, e) =>
  checkEnvoyFilter(s, e),
);

/** The normalized spec of a networking kind (`VirtualService`, ...): what Galley serves and Pilot reads. */
export function networkingNormalizer(message: string): (spec: Obj) => Obj {
  return (spec) => normalizeMessage(spec, message, '', new Errors());
}
