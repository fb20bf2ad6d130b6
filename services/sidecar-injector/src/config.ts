import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type MeshConfig, meshConfigDefaults, parseMeshConfig } from '@keel/config';
import type { Result } from '@keel/runtime';
import type Handlebars from 'handlebars';
import { parse as parseYaml } from 'yaml';
import { createTemplateEngine } from './helpers.js';
import { type LabelSelector, validateSelector } from './selector.js';

/** The `config` key of the istio-sidecar-injector ConfigMap. */
export interface InjectConfig {
  policy: 'enabled' | 'disabled';
  alwaysInjectSelector: LabelSelector[];
  neverInjectSelector: LabelSelector[];
  injectedAnnotations: Record<string, string>;
  /** Handlebars source of the sidecar template. */
  template: string;
}

/** Everything one injection needs; immutable once built, shared by concurrent requests. */
export interface Injector {
  config: InjectConfig;
  values: Record<string, unknown>;
  mesh: MeshConfig;
  /** sha256 hex of the template text: the `version` of `sidecar.istio.io/status`. */
  version: string;
  render: Handlebars.TemplateDelegate;
}

const MAX_TEMPLATE = 1024 * 1024;
const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Parses and checks the `config` YAML; every problem is reported. */
export function parseInjectConfig(text: string): Result<InjectConfig> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    return { ok: false, errors: [`config: YAML: ${(e as Error).message.split('\n')[0]}`] };
  }
  if (!isObj(raw)) return { ok: false, errors: ['config: must be a YAML mapping'] };
  const errors: string[] = [];
  const known = ['policy', 'alwaysInjectSelector', 'neverInjectSelector', 'injectedAnnotations', 'template'];
  for (const k of Object.keys(raw)) if (!known.includes(k)) errors.push(`config: unknown field ${k}`);
  const policy = raw.policy ?? 'enabled';
  if (policy !== 'enabled' && policy !== 'disabled') {
    errors.push(`config.policy: must be "enabled" or "disabled", got ${JSON.stringify(policy)}`);
  }
  const selectors = (field: string): LabelSelector[] => {
    const v = raw[field] ?? [];
    if (!Array.isArray(v)) {
      errors.push(`config.${field}: must be a list of label selectors`);
      return [];
    }
    v.forEach((s, i) => {
      for (const e of validateSelector(s)) errors.push(`config.${field}[${i}]: ${e}`);
    });
    return v as LabelSelector[];
  };
  const always = selectors('alwaysInjectSelector');
  const never = selectors('neverInjectSelector');
  const injected = raw.injectedAnnotations ?? {};
  if (!isObj(injected) || Object.values(injected).some((v) => typeof v !== 'string')) {
    errors.push('config.injectedAnnotations: must map names to strings');
  }
  const template = raw.template;
  if (typeof template !== 'string' || template.trim() === '') errors.push('config.template: is missing');
  else if (template.length > MAX_TEMPLATE) errors.push(`config.template: longer than ${MAX_TEMPLATE} bytes`);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      policy: policy as InjectConfig['policy'],
      alwaysInjectSelector: always,
      neverInjectSelector: never,
      injectedAnnotations: injected as Record<string, string>,
      template: template as string,
    },
  };
}

/** Parses the `values` JSON (Helm values of the istio chart). */
export function parseValues(text: string): Result<Record<string, unknown>> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, errors: [`values: JSON: ${(e as Error).message}`] };
  }
  if (!isObj(raw)) return { ok: false, errors: ['values: must be a JSON object'] };
  return { ok: true, value: raw };
}

/** Compiles the template (syntax errors are reported here, not per request) and fixes the version. */
export function buildInjector(
  config: InjectConfig,
  values: Record<string, unknown>,
  mesh: MeshConfig = meshConfigDefaults(),
): Result<Injector> {
  const hb = createTemplateEngine();
  let render: Handlebars.TemplateDelegate;
  try {
    // Declaring the helpers lets the compiled template call them directly (no per-call lookup).
    const knownHelpers = Object.fromEntries(Object.keys(hb.helpers).map((h) => [h, true]));
    render = hb.compile(config.template, { noEscape: true, strict: false, knownHelpers });
    // Handlebars compiles lazily: force the parse so a broken template fails at load.
    hb.precompile(config.template);
  } catch (e) {
    return {
      ok: false,
      errors: [`config.template: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`],
    };
  }
  const version = createHash('sha256').update(config.template).digest('hex');
  return { ok: true, value: { config, values, mesh, version, render } };
}

export interface InjectorFiles {
  configFile: string;
  valuesFile: string;
  meshConfigFile?: string;
}

/** Reads the three files of the ConfigMap shape and builds an injector; errors name the file. */
export async function loadInjector(files: InjectorFiles): Promise<Result<Injector>> {
  const read = async (f: string): Promise<Result<string>> => {
    try {
      return { ok: true, value: await readFile(f, 'utf8') };
    } catch (e) {
      return { ok: false, errors: [`${f}: ${(e as Error).message}`] };
    }
  };
  const [c, v, m] = await Promise.all([
    read(files.configFile),
    read(files.valuesFile),
    files.meshConfigFile ? read(files.meshConfigFile) : Promise.resolve(undefined),
  ]);
  const errors: string[] = [];
  const config = c.ok ? parseInjectConfig(c.value) : c;
  if (!config.ok) errors.push(...config.errors.map((e) => `${files.configFile}: ${e}`));
  const values = v.ok ? parseValues(v.value) : v;
  if (!values.ok) errors.push(...values.errors.map((e) => `${files.valuesFile}: ${e}`));
  let mesh = meshConfigDefaults();
  if (m && !m.ok) errors.push(...m.errors);
  else if (m?.ok) {
    const parsed = parseMeshConfig(m.value, files.meshConfigFile);
    if (parsed.ok) mesh = parsed.value;
    else errors.push(...parsed.errors.map((e) => `${files.meshConfigFile}: ${e.message}`));
  }
  if (errors.length > 0 || !config.ok || !values.ok) return { ok: false, errors };
  const built = buildInjector(config.value, values.value, mesh);
  if (!built.ok) return { ok: false, errors: built.errors.map((e) => `${files.configFile}: ${e}`) };
  return built;
}
