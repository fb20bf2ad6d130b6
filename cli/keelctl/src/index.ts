export { type CliIO, runCli, USAGE } from './cli.js';
