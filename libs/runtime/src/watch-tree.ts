import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface TreeWatchOptions {
  /** Quiet time after the last event before `onChange` runs (default 100 ms). */
  settleMs?: number;
  /** `onChange` also runs this often, as a backstop to missed events (0: never). */
  rescanIntervalMs?: number;
  /** Called when a directory cannot be watched (it is then covered by the periodic rescan only). */
  onError?: (dir: string, err: unknown) => void;
}

export interface TreeWatcher {
  /**
   * Replaces the set of watched directories (the root's own directories, as the last scan found
   * them). Directories no longer listed are unwatched; new ones are watched.
   */
  setDirectories(dirs: Iterable<string>): void;
  /** Paths (joined from a watched directory and an event's name) changed since the last call. */
  takeChanged(): Set<string>;
  /** Runs `onChange` after the settle time, as if an event had arrived. */
  poke(): void;
  close(): void;
}

/**
 * Watches a directory tree by watching each directory (never files): inotify on a directory reports
 * writes, creates, deletes and renames of its entries whatever inode a name points to, so files
 * replaced by rename (editors' save) or by an atomic `..data` symlink swap (Kubernetes ConfigMap and
 * Secret mounts) keep being followed. The parent of the root is watched too, so the root appearing,
 * disappearing or being renamed is seen. Node's recursive fs.watch on Linux watches files and misses
 * edits after a rename, hence this. `onChange` is debounced and never told what changed: the caller
 * rescans (it may read `takeChanged()` for names that must be re-read even if their stat looks equal).
 */
export function watchTree(root: string, onChange: () => void, opts: TreeWatchOptions = {}): TreeWatcher {
  const settleMs = opts.settleMs ?? 100;
  const watchers = new Map<string, FSWatcher>();
  const changed = new Set<string>();
  let settle: NodeJS.Timeout | undefined;
  let closed = false;

  const trigger = (): void => {
    if (closed) return;
    clearTimeout(settle);
    settle = setTimeout(onChange, settleMs);
  };

  const add = (dir: string, filter?: (name: string) => boolean): void => {
    if (watchers.has(dir)) return;
    try {
      const w = watch(dir, { persistent: false }, (_type, name) => {
        const n = name === null || name === undefined ? undefined : String(name);
        if (filter && n !== undefined && !filter(n)) return;
        if (n !== undefined) changed.add(`${dir}/${n}`);
        trigger();
      });
      // A watched directory that is deleted errors (or goes quiet): drop it; the rescan re-adds it.
      w.on('error', () => {
        w.close();
        if (watchers.get(dir) === w) watchers.delete(dir);
        trigger();
      });
      watchers.set(dir, w);
    } catch (err) {
      opts.onError?.(dir, err);
    }
  };

  const parent = dirname(root);
  const rootName = basename(root);
  const timer =
    opts.rescanIntervalMs && opts.rescanIntervalMs > 0
      ? setInterval(() => !closed && onChange(), opts.rescanIntervalMs)
      : undefined;
  timer?.unref();

  return {
    setDirectories(dirs) {
      if (closed) return;
      const want = new Set(dirs);
      for (const [dir, w] of watchers) {
        if (dir !== parent && !want.has(dir)) {
          w.close();
          watchers.delete(dir);
        }
      }
      if (parent !== root) add(parent, (n) => n === rootName);
      for (const d of want) add(d);
    },
    takeChanged() {
      const out = new Set(changed);
      changed.clear();
      return out;
    },
    poke: trigger,
    close() {
      closed = true;
      clearTimeout(settle);
      if (timer) clearInterval(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
