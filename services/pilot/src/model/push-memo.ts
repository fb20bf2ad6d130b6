// Generator output interned from push to push (see PushMemo in types.ts).
import type { Interner, PushMemo } from './types.js';

/** Two-generation intern table: entries unused for a whole push are dropped at the next rotate. */
export class InternTable implements PushMemo {
  private current = new Map<string, Map<string, object>>();
  private previous = new Map<string, Map<string, object>>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;

  intern<T extends object>(key: string, make: () => T): T {
    return this.group('')(key, make);
  }

  /**
   * The intern function of one group of keys: a caller interning many values that share most of their key
   * names the shared part once (looking up a long concatenated key costs more than the value saves).
   */
  group(name: string): Interner {
    let cur = this.current.get(name);
    if (!cur) {
      cur = new Map();
      this.current.set(name, cur);
    }
    const now = cur;
    const prev = this.previous.get(name);
    return <T extends object>(key: string, make: () => T, fits?: (held: T) => boolean): T => {
      let v = now.get(key) as T | undefined;
      if (v && (!fits || fits(v))) return v;
      v = prev?.get(key) as T | undefined;
      if (!v || (fits && !fits(v))) {
        v = make();
      }
      now.set(key, v);
      return v;
    };
  }

  /** A number naming `o` for as long as it lives (to put an interned object into another key). */
  idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = ++this.nextId;
      this.ids.set(o, id);
    }
    return id;
  }

  rotate(): void {
    this.previous = this.current;
    this.current = new Map();
  }
}
