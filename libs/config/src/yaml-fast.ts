import jsyaml from 'js-yaml';

/** One document of a YAML stream: its text (marker lines included) and the 1-based line it starts on. */
export interface Chunk {
  text: string;
  line: number;
}

// js-yaml with the scalar rules of the `yaml` package's default (YAML 1.2 core) schema, so both
// parsers give the same values: no timestamps, no merge keys, no YAML 1.1 yes/no/on/off booleans.
const scalarType = (tag: string, test: RegExp, construct: (s: string) => unknown) =>
  new jsyaml.Type(tag, {
    kind: 'scalar',
    resolve: (s: string | null) => s !== null && test.test(s),
    construct,
  });

const nullType = new jsyaml.Type('tag:yaml.org,2002:null', {
  kind: 'scalar',
  resolve: (s: string | null) => s === null || /^(?:~|[Nn]ull|NULL)?$/.test(s),
  construct: () => null,
});
const boolType = scalarType(
  'tag:yaml.org,2002:bool',
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  (s) => s[0] === 't' || s[0] === 'T',
);
const intType = scalarType('tag:yaml.org,2002:int', /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/, (s) => {
  if (s.startsWith('0o')) return Number.parseInt(s.slice(2), 8);
  if (s.startsWith('0x')) return Number.parseInt(s.slice(2), 16);
  return Number.parseInt(s, 10);
});
const floatType = scalarType(
  'tag:yaml.org,2002:float',
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*))$/,
  (s) => {
    if (s.slice(-3).toLowerCase() === 'nan') return Number.NaN;
    if (s.slice(-3).toLowerCase() === 'inf') return s[0] === '-' ? -Infinity : Infinity;
    return Number.parseFloat(s);
  },
);
const SCHEMA = jsyaml.FAILSAFE_SCHEMA.extend({ implicit: [nullType, boolType, intType, floatType] });

/**
 * Syntax the fast path leaves to the `yaml` package (false positives only cost speed): anchors,
 * aliases, tags, explicit `?` keys, flow collections as keys, and null keys.
 */
const NEEDS_FULL_PARSER =
  /(?:^|[\s[{,:])[&*!]|[\]}][ \t]*:(?:[\s,\]}]|$)|(?:^|[\s[{,])\?(?:\s|$)|(?:^|[\s[{,?])(?:~|[Nn]ull|NULL)[ \t]*:(?:[\s,\]}]|$)/m;

/** True when the stream has a line starting with `%` (a directive): such text goes to `yaml` whole. */
export function hasDirective(text: string): boolean {
  return text.startsWith('%') || text.includes('\n%');
}

function markerAt(text: string, pos: number): '---' | '...' | undefined {
  const c = text[pos];
  if (c !== '-' && c !== '.') return undefined;
  if (text[pos + 1] !== c || text[pos + 2] !== c) return undefined;
  const next = text[pos + 3];
  if (next !== undefined && next !== ' ' && next !== '\t' && next !== '\r' && next !== '\n') return undefined;
  return c === '-' ? '---' : '...';
}

/** Splits a stream on column-0 `---` (starts a document) and `...` (ends one) marker lines. */
export function splitDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let startLine = 1;
  let pos = 0;
  let line = 1;
  while (pos < text.length) {
    const eol = text.indexOf('\n', pos);
    const next = eol === -1 ? text.length : eol + 1;
    const marker = markerAt(text, pos);
    if (marker === '---' && pos > start) {
      chunks.push({ text: text.slice(start, pos), line: startLine });
      start = pos;
      startLine = line;
    } else if (marker === '...') {
      chunks.push({ text: text.slice(start, next), line: startLine });
      start = next;
      startLine = line + 1;
    }
    pos = next;
    line++;
  }
  if (start < text.length) chunks.push({ text: text.slice(start), line: startLine });
  return chunks;
}

const TOKEN_START = new Set([' ', '\t', '\n', '\r', '[', '{', ',', ':', '-', '?']);

/**
 * True when a flow collection or a quoted scalar may continue past a line end: `yaml` applies
 * indentation rules to those lines that js-yaml does not, so such documents go to `yaml`.
 * Conservative: brackets in block plain scalars and stray quotes only cause a fallback.
 */
function spansLines(text: string): boolean {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote !== '') {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
      else if (c === '\n') return true;
      continue;
    }
    if (c === '\n') {
      if (depth > 0) return true;
    } else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth = depth > 0 ? depth - 1 : 0;
    else if (c === '"' || c === "'") {
      if (i === 0 || TOKEN_START.has(text[i - 1] as string)) quote = c;
    } else if (c === '#' && (i === 0 || TOKEN_START.has(text[i - 1] as string))) {
      const eol = text.indexOf('\n', i);
      if (eol === -1) break;
      i = eol - 1;
    }
  }
  return depth > 0 || quote !== '';
}

function isBlankOrComment(s: string): boolean {
  const t = s.trim();
  return t === '' || t.startsWith('#');
}

/** 1-based line (within the chunk) of the document's first content token; undefined if none. */
function contentLine(text: string): number | undefined {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    const marker = markerAt(l, 0);
    if (marker === '...') return undefined;
    if (!isBlankOrComment(marker === '---' ? l.slice(3) : l)) return i + 1;
  }
  return undefined;
}

/**
 * Loads one document with js-yaml. Undefined when the `yaml` package must decide instead:
 * syntax it leaves to that package, or any js-yaml error (including duplicate keys).
 */
export function fastLoad(chunk: Chunk): { value: unknown; line: number } | undefined {
  if (NEEDS_FULL_PARSER.test(chunk.text) || spansLines(chunk.text)) return undefined;
  let value: unknown;
  try {
    value = jsyaml.load(chunk.text, { schema: SCHEMA });
  } catch {
    return undefined;
  }
  const offset = contentLine(chunk.text);
  return { value, line: chunk.line + (offset ?? 1) - 1 };
}
