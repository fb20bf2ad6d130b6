#!/usr/bin/env node
import { createLogger, onShutdown, parseFlagsOrExit } from '@keel/runtime';
import { pilotFlags } from './server/options.js';
import { createPilot } from './server/pilot.js';

const f = parseFlagsOrExit(pilotFlags, 'pilot');
const logger = createLogger('pilot', { level: f['log-level'] });
const pilot = createPilot({
  mcpAddress: f['mcp-address'],
  host: f.host,
  grpcPort: f['grpc-port'],
  httpPort: f['http-port'],
  monitoringPort: f['monitoring-port'],
  domain: f.domain,
  ...(f['nats-url'] ? { natsUrl: f['nats-url'] } : {}),
  debounceAfterMs: f['debounce-after'],
  debounceMaxMs: f['debounce-max'],
  pushThrottle: f['push-throttle'],
  sendTimeoutMs: f['send-timeout'],
  ...(f['pod-name'] ? { podName: f['pod-name'] } : {}),
  logger,
});
const ports = await pilot.start();
logger.info({ ...ports, secureGrpcPort: f['secure-grpc-port'], secureGrpcServed: false }, 'pilot listening');
onShutdown(() => pilot.stop());
