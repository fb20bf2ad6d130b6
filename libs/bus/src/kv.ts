import type { Result } from '@keel/runtime';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

export interface KvValue<T> {
  value: T;
  revision: number;
}

export interface KvChange<T> {
  key: string;
  /** Undefined when the key was deleted or purged. */
  value: T | undefined;
  revision: number;
  operation: 'PUT' | 'DEL' | 'PURGE';
}

/** A JSON-valued JetStream KV bucket. Conflicts are values, not exceptions. */
export interface BusKv {
  get<T>(key: string): Promise<KvValue<T> | undefined>;
  /** Unconditional write; resolves with the new revision. */
  put(key: string, value: unknown): Promise<number>;
  /** Writes only if the key does not exist; `conflict` otherwise. */
  create(key: string, value: unknown): Promise<Result<number, 'conflict'>>;
  /** Compare-and-set: writes only if the key is still at `revision`; `conflict` otherwise. */
  update(key: string, value: unknown, revision: number): Promise<Result<number, 'conflict'>>;
  delete(key: string): Promise<void>;
  /** Current values first, then every change; `key` may use `*`/`>` wildcards. Returns the stopper. */
  watch<T>(key: string, onChange: (change: KvChange<T>) => void): Promise<() => void>;
}

// JetStream API codes for a failed expected-last-sequence check.
const WRONG_LAST_SEQUENCE = new Set([10071, 10164]);

function isConflict(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'number' && WRONG_LAST_SEQUENCE.has(code);
}

async function conditional(write: () => Promise<number>): Promise<Result<number, 'conflict'>> {
  try {
    return { ok: true, value: await write() };
  } catch (e) {
    if (isConflict(e)) return { ok: false, errors: 'conflict' };
    throw e;
  }
}

/** Opens (creating if needed) `bucket` on a JetStream-enabled server. */
export async function openKv(
  nc: NatsConnection,
  bucket: string,
  options: { history?: number } = {},
): Promise<BusKv> {
  const kv = await new Kvm(nc).create(bucket, { history: options.history ?? 1 });
  const encode = (value: unknown) => JSON.stringify(value);
  return {
    async get<T>(key: string) {
      const entry = await kv.get(key);
      if (entry === null || entry.operation !== 'PUT') return undefined;
      return { value: entry.json<T>(), revision: entry.revision };
    },
    put: (key, value) => kv.put(key, encode(value)),
    create: (key, value) => conditional(() => kv.create(key, encode(value))),
    update: (key, value, revision) => conditional(() => kv.update(key, encode(value), revision)),
    async delete(key) {
      await kv.delete(key);
    },
    async watch<T>(key: string, onChange: (change: KvChange<T>) => void) {
      const it = await kv.watch({ key });
      void (async () => {
        for await (const e of it) {
          const value = e.operation === 'PUT' && e.value.length > 0 ? e.json<T>() : undefined;
          onChange({ key: e.key, value, revision: e.revision, operation: e.operation });
        }
      })();
      return () => it.stop();
    },
  };
}
