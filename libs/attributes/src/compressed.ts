// CompressedAttributes (istio.mixer.v1): word indexes into the global dictionary (>= 0) or the
// message's own words (< 0, -1 = words[0]); delta encoding of report batches.
import type { Result } from '@keel/runtime';
import type { Bag, ReferencedAttributes } from './bag.js';
import { MapBag } from './bag.js';
import { GLOBAL_WORDS, globalWordIndex } from './dictionary.js';
import type { AttributeValue, ValueTypeName } from './values.js';
import { Duration, inferType, parseGoDuration, parseIp, valuesEqual } from './values.js';
import type { AttributeManifest } from './vocabulary.js';

type Int64 = number | string | { toString(): string };
interface TimestampMsg {
  seconds?: Int64;
  nanos?: number;
}

/** The decoded message (protobufjs / proto-loader objects with proto field names). */
export interface CompressedAttributesMessage {
  words?: string[];
  strings?: Record<string, number>;
  int64s?: Record<string, Int64>;
  doubles?: Record<string, number>;
  bools?: Record<string, boolean>;
  timestamps?: Record<string, TimestampMsg>;
  durations?: Record<string, TimestampMsg>;
  bytes?: Record<string, Uint8Array>;
  string_maps?: Record<string, { entries?: Record<string, number> }>;
}

export const MAX_ATTRIBUTES = 4096;

function num(v: Int64 | undefined): number {
  if (v === undefined) return 0;
  return typeof v === 'number' ? v : Number(String(v));
}

function toDate(t: TimestampMsg | undefined): Date {
  return new Date(num(t?.seconds) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6));
}

function toDuration(t: TimestampMsg | undefined): Duration {
  return new Duration(num(t?.seconds) * 1000 + (t?.nanos ?? 0) / 1e6);
}

class Words {
  constructor(
    private readonly local: readonly string[],
    private readonly globalCount: number,
  ) {}
  word(index: string | number): string {
    const i = typeof index === 'number' ? index : Number(index);
    if (!Number.isInteger(i)) throw new Error(`invalid word index ${index}`);
    if (i >= 0) {
      if (i >= this.globalCount)
        throw new Error(`global word index ${i} out of range (${this.globalCount} words)`);
      return GLOBAL_WORDS[i]!;
    }
    const w = this.local[-i - 1];
    if (w === undefined) throw new Error(`message word index ${i} out of range (${this.local.length} words)`);
    return w;
  }
}

/**
 * Applies a CompressedAttributes message to a bag (setting every attribute it carries). `words`
 * overrides the message's own words (a report's default_words). A global_word_count larger than
 * this dictionary is an error ("inconsistent global dictionary versions").
 */
export function applyCompressed(
  bag: MapBag,
  msg: CompressedAttributesMessage,
  globalWordCount: number = GLOBAL_WORDS.length,
  words?: readonly string[],
): Result<MapBag, string> {
  if (globalWordCount > GLOBAL_WORDS.length)
    return {
      ok: false,
      errors: `inconsistent global dictionary versions: client has ${globalWordCount} words, server ${GLOBAL_WORDS.length}`,
    };
  const w = new Words(msg.words?.length ? msg.words : (words ?? []), globalWordCount);
  try {
    let count = 0;
    const put = (k: string, v: AttributeValue) => {
      if (++count > MAX_ATTRIBUTES) throw new Error(`more than ${MAX_ATTRIBUTES} attributes`);
      bag.set(w.word(k), v);
    };
    for (const [k, v] of Object.entries(msg.strings ?? {})) put(k, w.word(v));
    for (const [k, v] of Object.entries(msg.int64s ?? {})) put(k, num(v));
    for (const [k, v] of Object.entries(msg.doubles ?? {})) put(k, Number(v));
    for (const [k, v] of Object.entries(msg.bools ?? {})) put(k, Boolean(v));
    for (const [k, v] of Object.entries(msg.timestamps ?? {})) put(k, toDate(v));
    for (const [k, v] of Object.entries(msg.durations ?? {})) put(k, toDuration(v));
    for (const [k, v] of Object.entries(msg.bytes ?? {})) put(k, new Uint8Array(v));
    for (const [k, v] of Object.entries(msg.string_maps ?? {})) {
      const m = new Map<string, string>();
      for (const [mk, mv] of Object.entries(v?.entries ?? {})) m.set(w.word(mk), w.word(mv));
      put(k, m);
    }
  } catch (e) {
    return { ok: false, errors: (e as Error).message };
  }
  return { ok: true, value: bag };
}

/** A bag from one CompressedAttributes message. */
export function decodeCompressed(
  msg: CompressedAttributesMessage,
  globalWordCount?: number,
): Result<MapBag, string> {
  return applyCompressed(new MapBag(), msg, globalWordCount);
}

/** Builds message words: global indexes where the dictionary has the word, else negative local ones. */
export class WordTable {
  readonly words: string[] = [];
  private readonly local = new Map<string, number>();
  constructor(private readonly globalCount: number = GLOBAL_WORDS.length) {}
  index(word: string): number {
    const g = globalWordIndex(word);
    if (g !== undefined && g < this.globalCount) return g;
    let i = this.local.get(word);
    if (i === undefined) {
      this.words.push(word);
      i = -this.words.length;
      this.local.set(word, i);
    }
    return i;
  }
}

function typeOf(name: string, v: AttributeValue, manifest?: AttributeManifest): ValueTypeName {
  const t = manifest?.get(name);
  if (t === 'DOUBLE' && typeof v === 'number') return 'DOUBLE';
  return inferType(v);
}

function ts(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Encodes bag attributes (all, or only `names`) into a message, words added to `table`. */
export function encodeCompressed(
  bag: Bag,
  table: WordTable = new WordTable(),
  manifest?: AttributeManifest,
  names: Iterable<string> = bag.names(),
): CompressedAttributesMessage {
  const out: Required<CompressedAttributesMessage> = {
    words: [],
    strings: {},
    int64s: {},
    doubles: {},
    bools: {},
    timestamps: {},
    durations: {},
    bytes: {},
    string_maps: {},
  };
  for (const name of names) {
    const v = bag.get(name);
    if (v === undefined) continue;
    const k = String(table.index(name));
    switch (typeOf(name, v, manifest)) {
      case 'STRING':
        out.strings[k] = table.index(v as string);
        break;
      case 'INT64':
        out.int64s[k] = v as number;
        break;
      case 'DOUBLE':
        out.doubles[k] = v as number;
        break;
      case 'BOOL':
        out.bools[k] = v as boolean;
        break;
      case 'TIMESTAMP':
        out.timestamps[k] = ts((v as Date).getTime());
        break;
      case 'DURATION':
        out.durations[k] = ts((v as Duration).ms);
        break;
      case 'IP_ADDRESS':
        out.bytes[k] = v as Uint8Array;
        break;
      default: {
        const entries: Record<string, number> = {};
        for (const [mk, mv] of v as ReadonlyMap<string, string>)
          entries[String(table.index(mk))] = table.index(mv);
        out.string_maps[k] = { entries };
      }
    }
  }
  out.words = table.words;
  return out;
}

/** One ReportRequest's worth of attributes, delta encoded against the previous entry. */
export interface EncodedReport {
  attributes: CompressedAttributesMessage[];
  default_words: string[];
  global_word_count: number;
  repeated_attributes_semantics: 'DELTA_ENCODING';
}

/**
 * Encodes bags for Report with DELTA_ENCODING: the first entry is complete, each later one carries
 * only what changed; the words live once in default_words. Delta encoding cannot express a removed
 * attribute, so a bag that drops one starts a new request.
 */
export function encodeReport(bags: readonly Bag[], manifest?: AttributeManifest): EncodedReport[] {
  const out: EncodedReport[] = [];
  let table = new WordTable();
  let current: EncodedReport | undefined;
  let prev: Bag | undefined;
  for (const bag of bags) {
    let names: string[] = [...bag.names()];
    if (current && prev && [...prev.names()].every((n) => bag.get(n) !== undefined)) {
      names = names.filter((n) => {
        const before = prev!.get(n);
        return before === undefined || !valuesEqual(before, bag.get(n)!);
      });
    } else {
      table = new WordTable();
      current = {
        attributes: [],
        default_words: table.words,
        global_word_count: GLOBAL_WORDS.length,
        repeated_attributes_semantics: 'DELTA_ENCODING',
      };
      out.push(current);
    }
    const msg = encodeCompressed(bag, table, manifest, names);
    msg.words = [];
    current.attributes.push(msg);
    prev = bag;
  }
  return out;
}

/** A ReportRequest as decoded by protobufjs / proto-loader (semantics as a name or number). */
export interface ReportRequestMessage {
  attributes?: CompressedAttributesMessage[];
  repeated_attributes_semantics?: string | number;
  default_words?: string[];
  global_word_count?: number;
}

/** The bags of a ReportRequest: DELTA_ENCODING accumulates, INDEPENDENT_ENCODING does not. */
export function decodeReport(req: ReportRequestMessage, maxEntries = 10_000): Result<MapBag[], string> {
  const entries = req.attributes ?? [];
  if (entries.length > maxEntries) return { ok: false, errors: `more than ${maxEntries} report entries` };
  const independent =
    req.repeated_attributes_semantics === 'INDEPENDENT_ENCODING' || req.repeated_attributes_semantics === 1;
  const bags: MapBag[] = [];
  let acc = new MapBag();
  for (const [i, entry] of entries.entries()) {
    if (independent) acc = new MapBag();
    const r = applyCompressed(acc, entry, req.global_word_count || GLOBAL_WORDS.length, req.default_words);
    if (!r.ok) return { ok: false, errors: `attributes[${i}]: ${r.errors}` };
    bags.push(new MapBag(new Map(acc.values)));
  }
  return { ok: true, value: bags };
}

/** ReferencedAttributes in proto form (names and map keys as word indexes). */
export function referencedToProto(refs: ReferencedAttributes): {
  words: string[];
  attribute_matches: { name: number; condition: 'ABSENCE' | 'EXACT'; map_key?: number }[];
} {
  const table = new WordTable();
  const attribute_matches = refs.matches().map((m) => ({
    name: table.index(m.name),
    condition: m.condition === 1 ? ('ABSENCE' as const) : ('EXACT' as const),
    ...(m.mapKey !== undefined ? { map_key: table.index(m.mapKey) } : {}),
  }));
  return { words: table.words, attribute_matches };
}

/** Uncompressed `istio.mixer.v1.Attributes` (x-istio-attributes, filter config) to a bag. */
export function attributesFromProto(msg: {
  attributes?: Record<string, Record<string, unknown> | undefined>;
}): Result<MapBag, string> {
  const bag = new MapBag();
  for (const [name, av] of Object.entries(msg.attributes ?? {})) {
    if (!av) continue;
    if (av.string_value !== undefined) bag.set(name, String(av.string_value));
    else if (av.int64_value !== undefined) bag.set(name, num(av.int64_value as Int64));
    else if (av.double_value !== undefined) bag.set(name, Number(av.double_value));
    else if (av.bool_value !== undefined) bag.set(name, Boolean(av.bool_value));
    else if (av.bytes_value !== undefined) bag.set(name, new Uint8Array(av.bytes_value as Uint8Array));
    else if (av.timestamp_value !== undefined) bag.set(name, toDate(av.timestamp_value as TimestampMsg));
    else if (av.duration_value !== undefined) bag.set(name, toDuration(av.duration_value as TimestampMsg));
    else if (av.string_map_value !== undefined) {
      const e = (av.string_map_value as { entries?: Record<string, string> }).entries ?? {};
      bag.set(name, new Map(Object.entries(e)));
    } else return { ok: false, errors: `attribute ${name} has no value` };
  }
  return { ok: true, value: bag };
}

/**
 * Converts text to an attribute's manifest type (context_extensions and headers carry strings):
 * INT64 from decimal, IP_ADDRESS from dotted text, BOOL from true/false, DURATION from Go syntax.
 * Undefined when the text does not fit the type.
 */
export function valueFromText(text: string, type: ValueTypeName | undefined): AttributeValue | undefined {
  switch (type) {
    case undefined:
    case 'STRING':
    case 'DNS_NAME':
    case 'EMAIL_ADDRESS':
    case 'URI':
      return text;
    case 'INT64':
      return /^-?\d{1,18}$/.test(text) ? Number(text) : undefined;
    case 'DOUBLE': {
      const n = Number(text);
      return text.trim() !== '' && Number.isFinite(n) ? n : undefined;
    }
    case 'BOOL':
      return text === 'true' ? true : text === 'false' ? false : undefined;
    case 'IP_ADDRESS':
      return parseIp(text);
    case 'DURATION':
      return parseGoDuration(text);
    case 'TIMESTAMP': {
      const d = new Date(text);
      return Number.isNaN(d.getTime()) ? undefined : d;
    }
    case 'STRING_MAP':
      return undefined;
    default:
      return undefined;
  }
}
