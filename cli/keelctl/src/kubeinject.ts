import { readFile, writeFile } from 'node:fs/promises';
import { defaultFiles, injectObject, loadInjector } from '@keel/sidecar-injector';
import { parseAllDocuments, stringify } from 'yaml';
import type { CliIO } from './cli.js';

interface KubeInjectArgs {
  file: string;
  configFile?: string;
  valuesFile?: string;
  meshConfigFile?: string;
  output?: string;
}

const FLAGS: Record<string, keyof KubeInjectArgs> = {
  '-f': 'file',
  '--filename': 'file',
  '--injectConfigFile': 'configFile',
  '--valuesFile': 'valuesFile',
  '--meshConfigFile': 'meshConfigFile',
  '-o': 'output',
  '--output': 'output',
};

/** Parses `kube-inject` flags; a string is a usage error. */
export function parseKubeInjectArgs(args: readonly string[]): KubeInjectArgs | string {
  const out: Partial<KubeInjectArgs> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const [flag, inline] =
      arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const key = FLAGS[flag];
    if (!key) return `unknown option ${arg}`;
    const v = inline ?? args[++i];
    if (v === undefined || v === '') return `${flag} needs a value`;
    out[key] = v;
  }
  if (!out.file) return 'kube-inject needs -f FILE';
  return out as KubeInjectArgs;
}

/** All of stdin (a stream: reading /dev/stdin as a file fails on non-blocking pipes). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    size += (c as Buffer).length;
    if (size > MAX_INPUT) throw new Error(`larger than ${MAX_INPUT} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Documents larger than this are refused (a workload file is kilobytes). */
const MAX_INPUT = 32 * 1024 * 1024;

/** Runs `kube-inject`: loads the injector (template, values, mesh), injects, prints YAML. */
export async function runKubeInject(args: KubeInjectArgs, io: CliIO): Promise<number> {
  const defaults = defaultFiles();
  const loaded = await loadInjector({
    configFile: args.configFile ?? defaults.configFile,
    valuesFile: args.valuesFile ?? defaults.valuesFile,
    ...(args.meshConfigFile ? { meshConfigFile: args.meshConfigFile } : {}),
  });
  if (!loaded.ok) {
    for (const e of loaded.errors) io.stderr(`keelctl kube-inject: ${e}`);
    return 1;
  }
  const source = args.file === '-' ? 'stdin' : args.file;
  let text: string;
  try {
    text = args.file === '-' ? await readStdin() : await readFile(args.file, 'utf8');
  } catch (e) {
    io.stderr(`keelctl kube-inject: ${source}: ${(e as Error).message}`);
    return 1;
  }
  if (text.length > MAX_INPUT) {
    io.stderr(`keelctl kube-inject: ${source}: larger than ${MAX_INPUT} bytes`);
    return 1;
  }
  const docs = parseAllDocuments(text);
  const out: string[] = [];
  let failed = false;
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) {
      io.stderr(
        `keelctl kube-inject: ${source}: document ${i + 1}: ${doc.errors[0]!.message.split('\n')[0]}`,
      );
      failed = true;
      continue;
    }
    const obj = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (obj === null || obj === undefined) continue;
    if (typeof obj !== 'object' || Array.isArray(obj)) {
      io.stderr(`keelctl kube-inject: ${source}: document ${i + 1} is not an object`);
      failed = true;
      continue;
    }
    const r = injectObject(loaded.value, obj as Record<string, unknown>);
    if (!r.ok) {
      for (const e of r.errors) io.stderr(`keelctl kube-inject: ${source}: ${e}`);
      failed = true;
      continue;
    }
    for (const w of r.value.warnings) io.stderr(`keelctl kube-inject: ${source}: skipped ${w}`);
    out.push(stringify(r.value.object, { sortMapEntries: true, lineWidth: 0 }));
  }
  if (failed) return 1;
  const yamlText = out.join('---\n');
  if (args.output) await writeFile(args.output, yamlText);
  else io.stdout(yamlText.trimEnd());
  return 0;
}
