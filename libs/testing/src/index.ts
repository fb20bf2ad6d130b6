export {
  type CcoreCallResult,
  type CcoreClient,
  type CcoreClientOptions,
  ccoreAvailable,
  ccoreDriverPath,
  SYSTEM_PYTHON,
  startCcoreClient,
} from './ccore.js';
export { findNatsServer, type NatsOptions, type NatsServer, startNats } from './nats.js';
export { repoRoot, sharedTestdata } from './paths.js';
export { freePort } from './ports.js';
export { type RunningProcess, type StartProcessOptions, startProcess } from './process.js';
export { type TempDir, tempDir } from './tmp.js';
export { once, type WaitForOptions, waitFor, withTimeout } from './wait.js';
