// gRPC faces of the engine: envoy.service.auth.v3.Authorization/Check (ext_authz) and
// istio.mixer.v1.Mixer/Check (compressed attributes). Report is mixer-telemetry's.
import * as grpc from '@grpc/grpc-js';
import {
  type Bag,
  decodeCompressed,
  GLOBAL_WORD_COUNT,
  type MapBag,
  referencedToProto,
} from '@keel/attributes';
import type { Logger } from '@keel/runtime';
import { Code } from './adapters/types.js';
import type { HeaderOperation } from './runtime/dispatch.js';
import { deniedBody, type PolicyEngine, type Verdict } from './runtime/engine.js';
import { bagFromCheckRequest } from './runtime/extauthz-bag.js';
import type { KubeIndex } from './runtime/kubeenv.js';
import { codeName } from './runtime/status.js';

export interface CheckContext {
  engine: PolicyEngine;
  kube: KubeIndex;
  logger: Logger;
  failOpen(): boolean;
  /** Called for every answered check (metrics, sampled denial events). */
  answered(api: 'ext_authz' | 'mixer', verdict: Verdict, bag: Bag): void;
}

type Obj = Record<string, any>;

const APPEND_ACTION = { REPLACE: 'OVERWRITE_IF_EXISTS_OR_ADD', APPEND: 'APPEND_IF_EXISTS_OR_ADD' } as const;

function headerOptions(ops: HeaderOperation[]): Obj[] {
  return ops
    .filter((o) => o.operation !== 'REMOVE')
    .map((o) => ({
      header: { key: o.name, value: o.value },
      append_action: APPEND_ACTION[o.operation as 'REPLACE' | 'APPEND'],
    }));
}

/** The ext_authz v3 CheckResponse for a verdict: OK with header operations, or denied with Istio's status mapping. */
export function extAuthzResponse(v: Verdict): Obj {
  const d = v.decision;
  if (v.code === Code.OK) {
    return {
      status: { code: 0, message: '' },
      ok_response: {
        headers: headerOptions(d.requestHeaderOps),
        headers_to_remove: d.requestHeaderOps.filter((o) => o.operation === 'REMOVE').map((o) => o.name),
        response_headers_to_add: headerOptions(d.responseHeaderOps),
      },
    };
  }
  return {
    status: { code: v.code, message: v.message },
    denied_response: {
      status: { code: v.httpStatus },
      headers: headerOptions(d.responseHeaderOps),
      body: deniedBody(v),
    },
  };
}

function failure(ctx: CheckContext, e: unknown): Obj {
  ctx.logger.error({ err: e }, 'check failed');
  if (ctx.failOpen()) return { status: { code: 0, message: '' }, ok_response: {} };
  return {
    status: { code: Code.UNAVAILABLE, message: 'mixer-policy: internal error' },
    denied_response: { status: { code: 503 }, body: 'UNAVAILABLE:mixer-policy: internal error' },
  };
}

/** The Authorization service implementation. Malformed requests get INVALID_ARGUMENT. */
export function extAuthzService(ctx: CheckContext): grpc.UntypedServiceImplementation {
  return {
    Check(call: grpc.ServerUnaryCall<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) {
      let bag: MapBag;
      try {
        const r = bagFromCheckRequest(call.request, ctx.engine.current().manifest);
        if (!r.ok) return cb({ code: grpc.status.INVALID_ARGUMENT, details: r.errors });
        bag = r.value;
      } catch (e) {
        return cb({
          code: grpc.status.INVALID_ARGUMENT,
          details: `malformed CheckRequest: ${(e as Error).message}`,
        });
      }
      const full = ctx.kube.enrich(bag);
      const id = bag.get('request.id');
      ctx.engine.check(full, undefined, typeof id === 'string' ? id : '').then(
        (v) => {
          ctx.answered('ext_authz', v, full);
          cb(null, extAuthzResponse(v));
        },
        (e) => cb(null, failure(ctx, e)),
      );
    },
  };
}

const duration = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) });

function routeDirective(v: Verdict): Obj {
  const op = (o: HeaderOperation) => ({ name: o.name, value: o.value, operation: o.operation });
  return {
    request_header_operations: v.decision.requestHeaderOps.map(op),
    response_header_operations: v.decision.responseHeaderOps.map(op),
  };
}

/** The Mixer v1 CheckResponse: precondition from the rules, one result per requested quota. */
export function mixerResponse(v: Verdict): Obj {
  const d = v.decision;
  const quotas: Record<string, Obj> = {};
  for (const q of v.quotas) {
    quotas[q.name] = {
      valid_duration: duration(q.validDurationMs),
      granted_amount: q.granted,
      status: q.code === Code.OK ? { code: 0 } : { code: q.code, message: q.message },
    };
  }
  return {
    precondition: {
      status: d.code === Code.OK ? { code: 0 } : { code: d.code, message: d.message },
      valid_duration: duration(d.validDurationMs),
      valid_use_count: d.validUseCount,
      referenced_attributes: v.referenced
        ? referencedToProto(v.referenced)
        : { words: [], attribute_matches: [] },
      route_directive: routeDirective(v),
    },
    quotas,
  };
}

/** The istio.mixer.v1.Mixer implementation: Check on the shared engine; Report is not served here. */
export function mixerService(ctx: CheckContext): grpc.UntypedServiceImplementation {
  return {
    Check(call: grpc.ServerUnaryCall<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) {
      const req = call.request ?? {};
      const gwc = Number(req.global_word_count ?? 0) || GLOBAL_WORD_COUNT;
      const decoded = decodeCompressed(req.attributes ?? {}, gwc);
      if (!decoded.ok) {
        const internal = decoded.errors.startsWith('inconsistent global dictionary');
        return cb({
          code: internal ? grpc.status.INTERNAL : grpc.status.INVALID_ARGUMENT,
          details: decoded.errors,
        });
      }
      const asks = Object.entries((req.quotas ?? {}) as Record<string, Obj>).map(([name, p]) => ({
        name,
        amount: Number(p?.amount ?? 0),
        bestEffort: p?.best_effort === true,
      }));
      const full = ctx.kube.enrich(decoded.value);
      ctx.engine.check(full, asks, String(req.deduplication_id ?? '')).then(
        (v) => {
          ctx.answered('mixer', v, full);
          cb(null, mixerResponse(v));
        },
        (e) => {
          ctx.logger.error({ err: e }, 'mixer check failed');
          cb({ code: grpc.status.INTERNAL, details: 'mixer-policy: internal error' });
        },
      );
    },
    Report(_call: grpc.ServerUnaryCall<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) {
      cb({ code: grpc.status.UNIMPLEMENTED, details: 'Report is served by mixer-telemetry' });
    },
  };
}

export { codeName };
