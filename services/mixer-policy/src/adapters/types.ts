// The adapter contract: what a handler built from config does for the CHECK and QUOTA templates.
import type { AttributeValue } from '@keel/attributes';
import type { Bus } from '@keel/bus';
import type { Logger, Result } from '@keel/runtime';

/** google.rpc.Code numbers used by adapters. */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A CHECK answer from one handler. */
export interface CheckResult {
  code: number;
  message: string;
  validDurationMs: number;
  validUseCount: number;
}

/** Built instances, per template (spec section 4.7). */
export type CheckInstance =
  | { template: 'checknothing'; name: string }
  | { template: 'listentry'; name: string; value: AttributeValue }
  | {
      template: 'authorization';
      name: string;
      subject: { user: string; groups: string; properties: Record<string, AttributeValue> };
      action: {
        namespace: string;
        service: string;
        method: string;
        path: string;
        properties: Record<string, AttributeValue>;
      };
    };

export interface QuotaInstance {
  template: 'quota';
  /** Full name, e.g. `requestcountquota.instance.istio-system`. */
  name: string;
  dimensions: Record<string, AttributeValue>;
}

export interface QuotaArgs {
  /** Deduplication id of the request (request id + quota name). */
  dedupId: string;
  amount: number;
  bestEffort: boolean;
}

export interface QuotaResult {
  granted: number;
  validDurationMs: number;
  code: number;
  message: string;
}

/** A configured handler. Methods for templates it does not support are absent. */
export interface Handler {
  check?(instances: CheckInstance[]): CheckResult | Promise<CheckResult>;
  quota?(instance: QuotaInstance, args: QuotaArgs): QuotaResult | Promise<QuotaResult>;
  /** Debug state (lists loaded, counters held, fallback in use). */
  debug?(): unknown;
  close?(): void | Promise<void>;
}

/** What a handler may use besides its params. */
export interface AdapterEnv {
  /** Full handler name `<name>.<kind>.<namespace>`. */
  handlerName: string;
  logger: Logger;
  /** NATS once connected (the shared quota adapter needs it); undefined before or without one. */
  bus(): Bus | undefined;
  now(): number;
  /** Read-only view of RBAC resources for the rbac adapter. */
  rbac?: () => RbacView;
}

export interface RbacView {
  roles: readonly { namespace: string; name: string; spec: Record<string, unknown> }[];
  bindings: readonly { namespace: string; name: string; spec: Record<string, unknown> }[];
}

/** An adapter: validates params and builds a handler. Registered once in the registry. */
export interface Adapter {
  name: string;
  templates: readonly string[];
  build(params: Record<string, unknown>, env: AdapterEnv): Result<Handler, string[]>;
}

/** The default answer when no handler spoke: OK for 1 minute or 10000 uses (spec 4.2). */
export const DEFAULT_CHECK: Readonly<CheckResult> = Object.freeze({
  code: Code.OK,
  message: '',
  validDurationMs: 60_000,
  validUseCount: 10_000,
});
