import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { type Document, LineCounter, parseAllDocuments, type YAMLError } from 'yaml';
import { ErrorCode, sourceError } from './errors.js';
import { isCoreKind, kindFor } from './kinds.js';
import type { ConfigError, ObjectMeta, Resource, SourceRef } from './types.js';
import { fastLoad, hasDirective, splitDocuments } from './yaml-fast.js';

/** What parsing produced: every resource that could be read, and every problem found. */
export interface ParseResult {
  resources: Resource[];
  errors: ConfigError[];
}

const ISTIO_TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
const META_STRINGS = ['namespace', 'resourceVersion', 'creationTimestamp', 'uid'] as const;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sourceAt(file: string | undefined, line: number | undefined): SourceRef {
  const s: SourceRef = {};
  if (file !== undefined) s.file = file;
  if (line !== undefined) s.line = line;
  return s;
}

function errorFor(code: ErrorCode, message: string, source: SourceRef, raw: Obj): ConfigError {
  const e = sourceError(code, message, source);
  if (typeof raw.kind === 'string') e.kind = raw.kind;
  const meta = isObj(raw.metadata) ? raw.metadata : {};
  if (typeof meta.name === 'string') e.name = meta.name;
  if (typeof meta.namespace === 'string') e.namespace = meta.namespace;
  return e;
}

function readMeta(raw: unknown): ObjectMeta | string {
  if (raw === undefined || raw === null) return { name: '' };
  if (!isObj(raw)) return 'metadata must be an object';
  if (raw.name !== undefined && raw.name !== null && typeof raw.name !== 'string')
    return 'metadata.name must be a string';
  const meta: ObjectMeta = {
    ...(raw as Partial<ObjectMeta>),
    name: typeof raw.name === 'string' ? raw.name : '',
  };
  for (const key of META_STRINGS) {
    const v = raw[key];
    if (v === null) delete meta[key];
    else if (v !== undefined && typeof v !== 'string') return `metadata.${key} must be a string`;
  }
  for (const key of ['labels', 'annotations'] as const) {
    const v = raw[key];
    if (v === null) delete meta[key];
    else if (v !== undefined && !isObj(v)) return `metadata.${key} must be a map`;
  }
  return meta;
}

/** Splits the non-metadata part of an object into body (+ disallowed top-level fields). */
function splitBody(raw: Obj, core: boolean): { body: Obj; extra: Obj } | string {
  const extra: Obj = {};
  if (core) {
    const body: Obj = {};
    for (const [k, v] of Object.entries(raw))
      if (k !== 'apiVersion' && k !== 'kind' && k !== 'metadata') body[k] = v;
    return { body, extra };
  }
  for (const [k, v] of Object.entries(raw)) if (!ISTIO_TOP_LEVEL.has(k)) extra[k] = v;
  if (raw.spec === undefined || raw.spec === null) return { body: {}, extra };
  if (!isObj(raw.spec)) return 'spec must be an object';
  return { body: raw.spec, extra };
}

/** Turns one decoded object into a Resource, or a coded error. */
export function toResource(
  raw: unknown,
  source: SourceRef = {},
): { resource: Resource } | { error: ConfigError } {
  if (!isObj(raw))
    return { error: sourceError(ErrorCode.NOT_AN_OBJECT, 'document is not an object', source) };
  const fail = (code: ErrorCode, msg: string) => ({ error: errorFor(code, msg, source, raw) });
  if (typeof raw.apiVersion !== 'string' || raw.apiVersion === '')
    return fail(ErrorCode.MISSING_API_VERSION, 'apiVersion is required');
  if (typeof raw.kind !== 'string' || raw.kind === '')
    return fail(ErrorCode.MISSING_KIND, 'kind is required');
  const meta = readMeta(raw.metadata);
  if (typeof meta === 'string') return fail(ErrorCode.INVALID_METADATA, meta);
  const info = kindFor(raw.apiVersion, raw.kind);
  const split = splitBody(raw, info !== undefined && isCoreKind(info));
  if (typeof split === 'string') return fail(ErrorCode.INVALID_SPEC, split);
  const resource: Resource = {
    apiVersion: raw.apiVersion,
    kind: raw.kind,
    metadata: meta,
    body: split.body,
    source,
  };
  if (Object.keys(split.extra).length > 0) resource.extra = split.extra;
  return { resource };
}

function yamlError(err: YAMLError, lc: LineCounter, file: string | undefined, base: number): ConfigError {
  const line = lc.linePos(err.pos[0]).line + base;
  const code = err.code === 'DUPLICATE_KEY' ? ErrorCode.DUPLICATE_KEY : ErrorCode.YAML_SYNTAX;
  const message = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '');
  return sourceError(code, message, sourceAt(file, line));
}

function nodeLine(node: unknown, lc: LineCounter, base: number): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? lc.linePos(range[0]).line + base : undefined;
}

/** One document through the `yaml` package; `base` is added to every line (0 for a whole stream). */
function addDocument(
  doc: Document.Parsed,
  lc: LineCounter,
  file: string | undefined,
  base: number,
  out: ParseResult,
): void {
  if (doc.errors.length > 0) {
    for (const err of doc.errors) out.errors.push(yamlError(err, lc, file, base));
    return;
  }
  const line = nodeLine(doc.contents, lc, base) ?? lc.linePos(doc.range[0]).line + base;
  const value: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (value === null || value === undefined) return;
  if (isList(value)) {
    value.items.forEach((item, i) => {
      const itemLine = nodeLine(doc.getIn(['items', i], true), lc, base) ?? line;
      add(toResource(item, sourceAt(file, itemLine)), out);
    });
    return;
  }
  add(toResource(value, sourceAt(file, line)), out);
}

function isList(value: unknown): value is Obj & { items: unknown[] } {
  return isObj(value) && value.kind === 'List' && Array.isArray(value.items);
}

function add(r: { resource: Resource } | { error: ConfigError }, out: ParseResult): void {
  if ('resource' in r) out.resources.push(r.resource);
  else out.errors.push(r.error);
}

/** Parses `text` (a stream or one document) with the `yaml` package; lines shifted by `base`. */
function parseWithYaml(text: string, file: string | undefined, base: number, out: ParseResult): void {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc });
  for (const doc of docs) {
    try {
      addDocument(doc as Document.Parsed, lc, file, base, out);
    } catch (err) {
      // toJS throws on alias abuse (e.g. billion laughs): report it as a syntax error of that document.
      const line = lc.linePos(doc.range[0]).line + base;
      out.errors.push(sourceError(ErrorCode.YAML_SYNTAX, (err as Error).message, sourceAt(file, line)));
    }
  }
}

/**
 * Parses a multi-document YAML (or JSON) text; one bad document does not hide the others.
 * Each document is loaded with js-yaml (fast); the `yaml` package takes over for a document that
 * js-yaml rejects or that uses syntax the two could read differently, and for List documents.
 */
export function parseDocuments(text: string, file?: string): ParseResult {
  const out: ParseResult = { resources: [], errors: [] };
  if (hasDirective(text)) {
    parseWithYaml(text, file, 0, out);
    return out;
  }
  for (const chunk of splitDocuments(text)) {
    const fast = fastLoad(chunk);
    if (fast === undefined || isList(fast.value)) {
      parseWithYaml(chunk.text, file, chunk.line - 1, out);
      continue;
    }
    if (fast.value === null || fast.value === undefined) continue;
    add(toResource(fast.value, sourceAt(file, fast.line)), out);
  }
  return out;
}

/** Reads and parses one file; a read failure is a READ_FAILED error. */
export async function parseFile(file: string): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { resources: [], errors: [sourceError(ErrorCode.READ_FAILED, (err as Error).message, { file })] };
  }
  return parseDocuments(text, file);
}

const CONFIG_EXT = new Set(['.yaml', '.yml', '.json']);

async function listConfigFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) files.push(...(await listConfigFiles(p)));
    else if (CONFIG_EXT.has(path.extname(e.name).toLowerCase())) files.push(p);
  }
  return files;
}

function merge(into: ParseResult, from: ParseResult): void {
  into.resources.push(...from.resources);
  into.errors.push(...from.errors);
}

/** Parses every .yaml/.yml/.json file under `dir`, recursively, in sorted order. */
export async function parseDirectory(dir: string): Promise<ParseResult> {
  const out: ParseResult = { resources: [], errors: [] };
  let files: string[];
  try {
    files = await listConfigFiles(dir);
  } catch (err) {
    return {
      resources: [],
      errors: [sourceError(ErrorCode.READ_FAILED, (err as Error).message, { file: dir })],
    };
  }
  for (const f of files) merge(out, await parseFile(f));
  return out;
}

/** Parses each path: directories recursively, anything else as one file. */
export async function parsePaths(paths: readonly string[]): Promise<ParseResult> {
  const out: ParseResult = { resources: [], errors: [] };
  for (const p of paths) {
    const isDir = await stat(p).then(
      (s) => s.isDirectory(),
      () => false,
    );
    merge(out, isDir ? await parseDirectory(p) : await parseFile(p));
  }
  return out;
}
