import type { AttributeValue } from './values.js';
import { valueKey } from './values.js';

/** A read-only set of named attribute values (one request's view). */
export interface Bag {
  /** The value of an attribute, or undefined when absent. */
  get(name: string): AttributeValue | undefined;
  /** Names of the attributes present. */
  names(): Iterable<string>;
}

/** A bag backed by a Map; the bag owns the map it is given. */
export class MapBag implements Bag {
  readonly values: Map<string, AttributeValue>;
  constructor(values?: Map<string, AttributeValue> | Record<string, AttributeValue>) {
    this.values = values instanceof Map ? values : new Map(Object.entries(values ?? {}));
  }
  get(name: string): AttributeValue | undefined {
    return this.values.get(name);
  }
  names(): Iterable<string> {
    return this.values.keys();
  }
  set(name: string, value: AttributeValue): this {
    this.values.set(name, value);
    return this;
  }
  delete(name: string): boolean {
    return this.values.delete(name);
  }
}

/** A bag that adds to (and shadows) a parent bag without copying it, as preprocessing does. */
export class ChildBag implements Bag {
  readonly own = new Map<string, AttributeValue>();
  constructor(readonly parent: Bag) {}
  get(name: string): AttributeValue | undefined {
    const v = this.own.get(name);
    return v === undefined ? this.parent.get(name) : v;
  }
  names(): Iterable<string> {
    const all = new Set(this.parent.names());
    for (const k of this.own.keys()) all.add(k);
    return all;
  }
  set(name: string, value: AttributeValue): this {
    this.own.set(name, value);
    return this;
  }
}

/** A plain-object view of a bag, for logs and /debug (maps become objects, IPs text). */
export function bagToJson(bag: Bag): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of [...bag.names()].sort()) {
    const v = bag.get(n);
    if (v === undefined) continue;
    if (v instanceof Map) out[n] = Object.fromEntries(v);
    else if (v instanceof Uint8Array || typeof v === 'object') out[n] = String(valueKey(v)).slice(1);
    else out[n] = v;
  }
  return out;
}

export const Condition = { ABSENCE: 1, EXACT: 2 } as const;

/**
 * What an evaluation read: attributes with their presence, and string-map keys with theirs. Used to
 * key decision caches and filled in CheckResponse.referenced_attributes. Not thread-shared.
 */
export class ReferencedAttributes {
  /** attribute name -> present. */
  readonly attrs = new Map<string, boolean>();
  /** string-map attribute name -> key -> present. */
  readonly keys = new Map<string, Map<string, boolean>>();

  attr(name: string, present: boolean): void {
    this.attrs.set(name, present);
  }
  mapKey(name: string, key: string, present: boolean): void {
    let m = this.keys.get(name);
    if (!m) {
      m = new Map();
      this.keys.set(name, m);
    }
    m.set(key, present);
  }
  merge(other: ReferencedAttributes): void {
    for (const [k, v] of other.attrs) this.attrs.set(k, v);
    for (const [n, m] of other.keys) for (const [k, v] of m) this.mapKey(n, k, v);
  }
  clear(): void {
    this.attrs.clear();
    this.keys.clear();
  }
  /** A stable description of the shape (which names and keys were read, not their values). */
  shape(): ReferenceShape {
    const attrs = [...this.attrs.keys()].sort();
    const keys = [...this.keys.entries()]
      .map(([n, m]) => [n, [...m.keys()].sort()] as [string, string[]])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { attrs, keys, id: JSON.stringify([attrs, keys]) };
  }
  /** Entries in the proto form: name, condition (ABSENCE 1 or EXACT 2), optional map key. */
  matches(): { name: string; condition: 1 | 2; mapKey?: string }[] {
    const out: { name: string; condition: 1 | 2; mapKey?: string }[] = [];
    for (const [name, present] of this.attrs) out.push({ name, condition: present ? 2 : 1 });
    for (const [name, m] of this.keys)
      for (const [key, present] of m) out.push({ name, condition: present ? 2 : 1, mapKey: key });
    return out;
  }
}

/** Which attributes and map keys a decision depended on, independent of their values. */
export interface ReferenceShape {
  readonly attrs: readonly string[];
  readonly keys: readonly (readonly [string, readonly string[]])[];
  /** Equal shapes have equal ids. */
  readonly id: string;
}

/**
 * The cache signature of a bag under a shape: for one shape, equal signatures mean every referenced
 * attribute and map key has the same value (or the same absence) in both bags.
 */
export function referenceSignature(shape: ReferenceShape, bag: Bag): string {
  let sig = '';
  for (const n of shape.attrs) {
    const v = bag.get(n);
    sig += v === undefined ? '\u0000-' : `\u0000${valueKey(v)}`;
  }
  for (const [n, keys] of shape.keys) {
    const m = bag.get(n);
    for (const k of keys) {
      const v = m instanceof Map ? m.get(k) : undefined;
      sig += v === undefined ? '\u0001-' : `\u0001${v}`;
    }
  }
  return sig;
}
