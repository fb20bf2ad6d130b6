import type { Logger } from '@keel/runtime';
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import { kubeRequest } from './request.js';

export type InformerEventType = 'add' | 'update' | 'delete';

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Collection path to list and watch, e.g. `/api/v1/services` (see `kindPath`). */
  path: string;
  /** Custom list call; defaults to a raw GET of `path` (works for any kind). */
  listFn?: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  logger: Logger;
  /** Called once per real change: never an add for an object already delivered. */
  onEvent: (type: InformerEventType, obj: T) => void;
  /** Called once, after the first list has been delivered as adds. */
  onSynced?: () => void;
  /** Restart delay after a failed list or watch: doubles from initialMs up to maxMs. */
  backoff?: { initialMs: number; maxMs: number };
}

export interface Informer<T> {
  /** Starts listing and watching; resolves once the first list has been delivered (or on stop()). */
  start(): Promise<void>;
  /** Stops watching and retrying; the cache keeps its last contents. */
  stop(): void;
  /** True once the first list has been delivered. Stays true across reconnects. */
  synced(): boolean;
  /** Last known objects (kept while disconnected). */
  list(): T[];
}

const objectKey = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** A list function for any collection path: a raw GET returning the server's JSON unchanged. */
export function rawListFn<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  labelSelector?: string,
): () => Promise<KubernetesListObject<T>> {
  const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
  return async () => {
    const res = await kubeRequest(kc, { method: 'GET', path: path + query });
    if (res.status !== 200) {
      const err = new Error(`list ${path}: HTTP ${res.status}`) as Error & { statusCode: number };
      err.statusCode = res.status;
      throw err;
    }
    return res.body as KubernetesListObject<T>;
  };
}

/** Last known objects; turns raw ListWatch callbacks into the change each one really is. */
class ObjectCache<T extends KubernetesObject> {
  private readonly objects = new Map<string, T>();

  /** Records an event; returns the type to deliver, or undefined for a repeat. */
  apply(type: InformerEventType, obj: T): InformerEventType | undefined {
    const key = objectKey(obj);
    const known = this.objects.get(key);
    if (type === 'delete') {
      if (!known) return undefined;
      this.objects.delete(key);
      return 'delete';
    }
    const rv = obj.metadata?.resourceVersion;
    if (known && rv !== undefined && known.metadata?.resourceVersion === rv) return undefined;
    this.objects.set(key, obj);
    return known ? 'update' : 'add';
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  size(): number {
    return this.objects.size;
  }
}

/** Watch that records whether the last watch request got a 200 response. */
class TrackingWatch extends Watch {
  onConnected: () => void = () => {};
  override async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    let finished = false;
    const controller = await super.watch(path, query, callback, (err) => {
      finished = true;
      done(err);
    });
    if (!finished) this.onConnected();
    return controller;
  }
}

/**
 * An informer over client-node's ListWatch that survives errors: it restarts with exponential
 * backoff, keeps its cache meanwhile, and de-duplicates so consumers see each change once.
 */
export function createInformer<T extends KubernetesObject>(opts: InformerOptions<T>): Informer<T> {
  const log = opts.logger;
  const backoff = opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
  const cache = new ObjectCache<T>();
  const list = opts.listFn ?? rawListFn<T>(opts.kubeConfig, opts.path, opts.labelSelector);
  let listedThisAttempt = false;
  const watch = new TrackingWatch(opts.kubeConfig);
  const lw = new ListWatch<T>(
    opts.path,
    watch,
    async () => {
      const result = await list();
      listedThisAttempt = true;
      return result;
    },
    false,
    opts.labelSelector,
  );
  let stopped = true;
  let isSynced = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let resolveStart: () => void = () => {};
  const startPromise = new Promise<void>((resolve) => {
    resolveStart = resolve;
  });

  const deliver = (type: InformerEventType, obj: T): void => {
    failures = 0;
    const effective = cache.apply(type, obj);
    if (!effective) return;
    try {
      opts.onEvent(effective, obj);
    } catch (err) {
      log.error({ err, path: opts.path, key: objectKey(obj) }, 'informer event handler threw');
    }
  };
  lw.on('add', (o) => deliver('add', o));
  lw.on('update', (o) => deliver('update', o));
  lw.on('delete', (o) => deliver('delete', o));
  watch.onConnected = () => {
    failures = 0;
  };

  const markSynced = (): void => {
    if (isSynced) return;
    isSynced = true;
    log.info({ path: opts.path, objects: cache.size() }, 'informer synced');
    opts.onSynced?.();
    resolveStart();
  };

  const connect = async (): Promise<void> => {
    if (stopped) return;
    listedThisAttempt = false;
    try {
      await lw.start();
    } catch (err) {
      onError(err);
    }
    if (listedThisAttempt && !stopped) markSynced();
  };

  const onError = (err: unknown): void => {
    if (stopped || timer) return;
    const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** failures);
    failures += 1;
    log.warn(
      { err: String(err), path: opts.path, retryInMs: delay },
      'informer list/watch failed; restarting',
    );
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
  };
  lw.on('error', onError);

  return {
    start: () => {
      if (stopped) {
        stopped = false;
        void connect();
      }
      return startPromise;
    },
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      void lw.stop();
      resolveStart();
    },
    synced: () => isSynced,
    list: () => cache.list(),
  };
}
