// Generator output interned from push to push (see PushMemo in types.ts).
import type { PushMemo } from './types.js';

/** Two-generation intern table: entries unused for a whole push are dropped at the next rotate. */
export class InternTable implements PushMemo {
  private current = new Map<string, object>();
  private previous = new Map<string, object>();
  /** Values made (misses), for tests. */
  made = 0;

  intern<T extends object>(key: string, make: () => T): T {
    let v = this.current.get(key);
    if (v) return v as T;
    v = this.previous.get(key);
    if (!v) {
      v = make();
      this.made += 1;
    }
    this.current.set(key, v);
    return v as T;
  }

  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;

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

  /** Entries used since the last rotate. */
  get size(): number {
    return this.current.size;
  }
}
