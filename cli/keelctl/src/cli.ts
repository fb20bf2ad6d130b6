import { formatError, parsePaths, validateResources } from '@keel/config';
import { crdsYaml } from './crds.js';

const KUBE_INJECT_USAGE = `  kube-inject -f FILE [--injectConfigFile FILE] [--valuesFile FILE] [--meshConfigFile FILE] [-o FILE]
      Inject the Istio 1.4 sidecar (istio-init, istio-proxy) into the Pods, Deployments,
      StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs of FILE ("-" for stdin) and lists
      of them, the way the sidecar injector would; other objects pass through. Writes YAML to
      stdout (or -o FILE). Template and values default to the ones the injector ships
      (services/sidecar-injector/files), or pass the istio-sidecar-injector ConfigMap's keys.
      Exit code: 0 on success, 1 when an object cannot be injected, 2 on usage errors.`;

export const PROXY_USAGE = `  proxy-status [<pod>.<namespace>] [--nats-url URL] [--timeout MS]
      Every Pilot replica's proxies (gathered over NATS keel.pilot.status) and, per xDS type,
      SYNCED (the last response was ACKed), STALE (sent, not ACKed: in flight or NACKed) or
      NOT SENT. Exit code: 0, 1 when no replica answers, 2 on usage errors.

  proxy-config cluster|listener|route|endpoint <pod>.<namespace> [-o short|json] [--nats-url URL] [--timeout MS]
      The clusters, listeners, routes or endpoints Pilot serves a proxy (its config dump, over
      NATS keel.pilot.config_dump from the replica the proxy is connected to).
      --nats-url defaults to $KEEL_NATS_URL, then nats://127.0.0.1:4222; --timeout to 2000 ms.`;

/** Where the CLI writes; main.ts passes process streams, tests may pass buffers. */
export interface CliIO {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

export const USAGE = `Usage: keelctl <command> [options]

Commands:
  validate -f FILE|DIR [-f ...] [-n NAMESPACE]
      Validate Istio 1.4 config offline, as Galley's webhook would. Directories are read
      recursively (.yaml, .yml, .json). Prints one line per error and a summary line.
      Exit code: 0 when everything is valid, 1 when anything is invalid, 2 on usage errors.
      -n, --namespace  namespace for resources that have none (default "default")

  crds
      Print the CustomResourceDefinitions of every Istio kind Keel reads (deploy/kubernetes/crds.yaml).

${KUBE_INJECT_USAGE}

${PROXY_USAGE}

Options:
  -h, --help  show this help`;

interface ValidateArgs {
  files: string[];
  namespace: string;
}

/** Parses `validate` flags; returns an error message for bad usage. */
function parseValidateArgs(args: readonly string[]): ValidateArgs | string {
  const out: ValidateArgs = { files: [], namespace: 'default' };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const [flag, inline] =
      arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? args[++i];
    if (flag === '-f' || flag === '--filename') {
      const v = value();
      if (v === undefined || v === '') return `${flag} needs a file or directory`;
      out.files.push(v);
    } else if (flag === '-n' || flag === '--namespace') {
      const v = value();
      if (v === undefined || v === '') return `${flag} needs a namespace`;
      out.namespace = v;
    } else {
      return `unknown option ${arg}`;
    }
  }
  if (out.files.length === 0) return 'validate needs at least one -f FILE|DIR';
  return out;
}

async function runValidate(args: ValidateArgs, io: CliIO): Promise<number> {
  const parsed = await parsePaths(args.files);
  const checked = validateResources(parsed.resources, { defaultNamespace: args.namespace });
  const errors = [...parsed.errors, ...checked.errors];
  for (const e of errors) io.stdout(formatError(e));
  const n = checked.valid.length;
  io.stdout(
    `${n} resource${n === 1 ? '' : 's'} valid${errors.length > 0 ? `, ${errors.length} error${errors.length === 1 ? '' : 's'}` : ''}`,
  );
  return errors.length > 0 ? 1 : 0;
}

/** Runs keelctl with `argv` (without node and script); resolves to the process exit code. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (command === 'validate') {
    if (rest.includes('-h') || rest.includes('--help')) {
      io.stdout(USAGE);
      return 0;
    }
    const args = parseValidateArgs(rest);
    if (typeof args === 'string') {
      io.stderr(`keelctl validate: ${args}\n\n${USAGE}`);
      return 2;
    }
    return runValidate(args, io);
  }
  if (command === 'kube-inject') {
    if (rest.includes('-h') || rest.includes('--help')) {
      io.stdout(USAGE);
      return 0;
    }
    // Loaded on demand: the injector (Handlebars, js-yaml) stays out of the other commands' start-up.
    const { parseKubeInjectArgs, runKubeInject } = await import('./kubeinject.js');
    const args = parseKubeInjectArgs(rest);
    if (typeof args === 'string') {
      io.stderr(`keelctl kube-inject: ${args}\n\n${USAGE}`);
      return 2;
    }
    return runKubeInject(args, io);
  }
  if (command === 'proxy-status' || command === 'proxy-config') {
    if (rest.includes('-h') || rest.includes('--help')) {
      io.stdout(USAGE);
      return 0;
    }
    // Loaded on demand: the NATS client stays out of the other commands' start-up.
    const { parseProxyArgs, runProxyConfig, runProxyStatus } = await import('./proxy.js');
    const args = parseProxyArgs(rest);
    if (typeof args === 'string') {
      io.stderr(`keelctl ${command}: ${args}\n\n${USAGE}`);
      return 2;
    }
    return command === 'proxy-status' ? runProxyStatus(args, io) : runProxyConfig(args, io);
  }
  if (command === 'crds') {
    io.stdout(crdsYaml().trimEnd());
    return 0;
  }
  io.stderr(command === undefined ? USAGE : `keelctl: unknown command "${command}"\n\n${USAGE}`);
  return 2;
}
