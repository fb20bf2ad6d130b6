// Refuses xDS calls whose node does not parse, before the xDS server sees them.
import * as grpc from '@grpc/grpc-js';
import type { NodeInfo } from '@keel/xds';

/** Returns an error message for a node Pilot cannot serve, undefined when it is acceptable. */
export type NodeCheck = (node: NodeInfo) => string | undefined;

type Handler = (...args: any[]) => void;

/** A stream whose first `data` message goes through `check`; a refused stream ends with INVALID_ARGUMENT. */
function gateStream(
  call: grpc.ServerDuplexStream<any, any>,
  check: NodeCheck,
): grpc.ServerDuplexStream<any, any> {
  let first = true;
  let refused = false;
  const on = (event: string | symbol, listener: Handler) => {
    if (event !== 'data') return call.on(event, listener);
    return call.on('data', (req: { node?: NodeInfo }) => {
      if (refused) return;
      if (first && req.node?.id) {
        first = false;
        const problem = check(req.node);
        if (problem) {
          refused = true;
          call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: problem });
          return;
        }
      }
      listener(req);
    });
  };
  return new Proxy(call, {
    get(target, prop, receiver) {
      if (prop === 'on' || prop === 'addListener') return on;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function gateUnary(handler: Handler, check: NodeCheck): Handler {
  return (call: grpc.ServerUnaryCall<{ node?: NodeInfo }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
    const problem = call.request.node?.id ? check(call.request.node) : undefined;
    if (problem) return cb({ code: grpc.status.INVALID_ARGUMENT, details: problem });
    handler(call, cb);
  };
}

/**
 * A stand-in for `server` whose addService wraps every handler with the node check (streams: the
 * first request naming a node; unary: the request). Pass it to `XdsServer.addTo`.
 */
export function nodeGatedServer(server: grpc.Server, check: NodeCheck): Pick<grpc.Server, 'addService'> {
  return {
    addService(definition: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) {
      const wrapped: grpc.UntypedServiceImplementation = {};
      for (const [name, handler] of Object.entries(impl)) {
        const method = definition[name];
        const h = handler as Handler;
        if (method?.requestStream && method.responseStream) {
          wrapped[name] = ((call: grpc.ServerDuplexStream<any, any>) => h(gateStream(call, check))) as any;
        } else if (method && !method.requestStream && !method.responseStream) {
          wrapped[name] = gateUnary(h, check) as any;
        } else {
          wrapped[name] = handler;
        }
      }
      server.addService(definition, wrapped);
    },
  };
}
