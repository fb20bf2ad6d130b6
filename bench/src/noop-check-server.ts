// The in-run baseline for the policy rows: a grpc-js server answering
// envoy.service.auth.v3.Authorization/Check with OK and doing nothing else (same proto loading).
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '@keel/proto';

const server = new grpc.Server({ 'grpc.max_concurrent_streams': 1024 });
const OK = { status: { code: 0, message: '' }, ok_response: {} };
server.addService(serviceDefinition('envoy.service.auth.v3.Authorization'), {
  Check(_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) {
    cb(null, OK);
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => {
  if (e) throw e;
  console.log(JSON.stringify({ msg: 'noop listening', grpcPort: port }));
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
