import { parseDuration } from './duration.js';
import type { Result } from './result.js';

interface FlagCommon {
  help?: string;
  /** Environment variable; defaults to KEEL_<UPPER_SNAKE_NAME>; `false` for none. */
  env?: string | false;
  /** Missing (no flag, env or default) is an error. */
  required?: boolean;
}

/** One flag. `duration` values are milliseconds; `list` values come from repeats and commas. */
export type FlagDef =
  | (FlagCommon & { type: 'string'; default?: string })
  | (FlagCommon & { type: 'number'; default?: number })
  | (FlagCommon & { type: 'boolean'; default?: boolean })
  | (FlagCommon & { type: 'duration'; default?: number | string })
  | (FlagCommon & { type: 'list'; default?: string[] });

export type FlagSpec = Record<string, FlagDef>;

interface FlagTypeMap {
  string: string;
  number: number;
  boolean: boolean;
  duration: number;
  list: string[];
}

type Always<D> = D extends { type: 'boolean' | 'list' } | { default: unknown } | { required: true }
  ? true
  : false;

/** Parsed values keyed by flag name; optional flags without a default may be undefined. */
export type FlagValues<S extends FlagSpec> = {
  [K in keyof S]: Always<S[K]> extends true
    ? FlagTypeMap[S[K]['type']]
    : FlagTypeMap[S[K]['type']] | undefined;
};

/** A parse failure; `help` marks a `--help` request, whose usage text is `errors[0]`. */
export type FlagErrors = string[] & { help?: boolean };

/** Identity, for inference: keeps each flag's literal `type`. */
export function defineFlags<const S extends FlagSpec>(spec: S): S {
  return spec;
}

/** `mcp-port` -> `KEEL_MCP_PORT`, unless the flag names its own variable or opts out. */
export function envName(name: string, def: FlagDef): string | undefined {
  if (def.env === false) return undefined;
  return def.env ?? `KEEL_${name.replace(/-/g, '_').toUpperCase()}`;
}

function convert(name: string, def: FlagDef, raw: string): Result<unknown, string> {
  switch (def.type) {
    case 'string':
      return { ok: true, value: raw };
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n))
        return { ok: false, errors: `--${name}: '${raw}' is not a number` };
      return { ok: true, value: n };
    }
    case 'boolean': {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes'].includes(v)) return { ok: true, value: true };
      if (['false', '0', 'no'].includes(v)) return { ok: true, value: false };
      return { ok: false, errors: `--${name}: '${raw}' is not a boolean` };
    }
    case 'duration': {
      const d = parseDuration(raw);
      return d.ok ? d : { ok: false, errors: `--${name}: ${d.errors}` };
    }
    case 'list':
      return { ok: true, value: splitList(raw) };
  }
}

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Reads argv into name -> raw strings (lists keep every occurrence); collects errors. */
function scanArgv(spec: FlagSpec, argv: string[], errors: string[]): Map<string, string[]> | 'help' {
  const seen = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    if (!arg.startsWith('--') || arg === '--') {
      errors.push(`unexpected argument '${arg}'`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const def = spec[name];
    if (def === undefined) {
      errors.push(`unknown flag --${name}`);
      continue;
    }
    let raw: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (raw === undefined && def.type === 'boolean') raw = 'true';
    if (raw === undefined) {
      raw = argv[i + 1];
      if (raw === undefined) {
        errors.push(`--${name} needs a value`);
        continue;
      }
      i++;
    }
    seen.set(name, [...(seen.get(name) ?? []), raw]);
  }
  return seen;
}

function resolveOne(
  name: string,
  def: FlagDef,
  fromArgv: string[] | undefined,
  env: Record<string, string | undefined>,
): Result<unknown, string> {
  if (fromArgv !== undefined) {
    if (def.type === 'list') return { ok: true, value: fromArgv.flatMap(splitList) };
    return convert(name, def, fromArgv[fromArgv.length - 1]!);
  }
  const variable = envName(name, def);
  const fromEnv = variable === undefined ? undefined : env[variable];
  if (fromEnv !== undefined && fromEnv !== '') {
    const v = convert(name, def, fromEnv);
    return v.ok ? v : { ok: false, errors: `${v.errors} (from $${variable})` };
  }
  if (def.default !== undefined) {
    if (def.type === 'duration' && typeof def.default === 'string') return convert(name, def, def.default);
    return { ok: true, value: Array.isArray(def.default) ? [...def.default] : def.default };
  }
  if (def.required) return { ok: false, errors: `--${name} is required` };
  if (def.type === 'boolean') return { ok: true, value: false };
  if (def.type === 'list') return { ok: true, value: [] };
  return { ok: true, value: undefined };
}

/**
 * Parses `--name value`, `--name=value`, bare booleans and repeated lists. Precedence: flag, then
 * environment, then default. Every problem is reported; `--help` yields the usage text.
 */
export function parseFlags<S extends FlagSpec>(
  spec: S,
  argv: string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
): Result<FlagValues<S>, FlagErrors> {
  const errors: string[] = [];
  const scanned = scanArgv(spec, argv, errors);
  if (scanned === 'help') return { ok: false, errors: Object.assign([usage(spec)], { help: true }) };
  const values: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(spec)) {
    const v = resolveOne(name, def, scanned.get(name), env);
    if (v.ok) values[name] = v.value;
    else errors.push(v.errors);
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: values as FlagValues<S> };
}

/** One line per flag: name, type, default, environment variable and help. */
export function usage(spec: FlagSpec, program = 'keel'): string {
  const lines = [`Usage: ${program} [flags]`, '', 'Flags:'];
  for (const [name, def] of Object.entries(spec)) {
    const value = def.type === 'boolean' ? '' : ` <${def.type}>`;
    const extras: string[] = [];
    if (def.default !== undefined) extras.push(`default ${JSON.stringify(def.default)}`);
    const variable = envName(name, def);
    if (variable) extras.push(`$${variable}`);
    if (def.required) extras.push('required');
    const suffix = extras.length > 0 ? ` (${extras.join(', ')})` : '';
    lines.push(`  --${name}${value}`, `      ${def.help ?? ''}${suffix}`);
  }
  return lines.join('\n');
}

/** For mains: parse, or print usage (exit 0) / errors (exit 2) and exit. */
export function parseFlagsOrExit<S extends FlagSpec>(spec: S, program: string): FlagValues<S> {
  const r = parseFlags(spec);
  if (r.ok) return r.value;
  if (r.errors.help) {
    process.stdout.write(`${usage(spec, program)}\n`);
    process.exit(0);
  }
  process.stderr.write(`${program}: ${r.errors.join('\n')}\n\n${usage(spec, program)}\n`);
  process.exit(2);
}
