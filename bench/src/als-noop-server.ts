// The telemetry baseline: a grpc-js AccessLogService that accepts each stream and discards its
// messages (bytes counted, nothing decoded). Started pinned to the server core by telemetry-bench.
import * as grpc from '@grpc/grpc-js';

const METHOD = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';
let bytes = 0;
const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
server.addService(
  {
    StreamAccessLogs: {
      path: METHOD,
      requestStream: true,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: () => ({}),
    },
  },
  {
    StreamAccessLogs: (call: grpc.ServerReadableStream<Buffer, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      call.on('data', (b: Buffer) => {
        bytes += b.length;
      });
      call.on('end', () => cb(null, {}));
    },
  },
);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => {
  if (e) throw e;
  console.log(JSON.stringify({ msg: 'noop als listening', port }));
});
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ msg: 'noop als stopping', bytes }));
  server.forceShutdown();
  process.exit(0);
});
