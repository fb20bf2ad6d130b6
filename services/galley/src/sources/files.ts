import type { Dirent, Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { capText, type Logger, watchTree } from '@keel/runtime';

const CONFIG_FILE = /\.(ya?ml|json)$/i;
/** Quiet time after the last change event before files are read. */
const SETTLE_MS = 100;
/** While the directory is missing or unreadable it is looked for this often. */
const MISSING_RETRY_MS = 1000;
/** Files larger than this are not read (a resource is at most 1.5 MiB by default; a file holds many). */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

export interface FileEvent {
  /** Absolute path. */
  path: string;
  /** New content, or undefined when the file is gone. */
  content: string | undefined;
}

export type ScanResult = { ok: true; events: FileEvent[] } | { ok: false; error: string };

export interface DirectoryWatcherOptions {
  /** Full rescan period, a backstop to file events (0: none). */
  rescanIntervalMs?: number;
  /** Called when the directory becomes readable (true) or stops being readable (false). */
  onAvailability?: (available: boolean, error?: string) => void;
}

export interface DirectoryWatcher {
  /** Reads every config file once and starts watching; `ok: false` when the directory cannot be read. */
  scan(): Promise<ScanResult>;
  close(): void;
}

interface Seen {
  ino: number;
  mtimeMs: number;
  size: number;
}

interface Listing {
  files: string[];
  dirs: string[];
  /** Directories below the root that could not be read: their files are kept as they were. */
  unreadable: string[];
}

/**
 * Lists config files under `dir`, following symlinks (a ConfigMap mount's files are symlinks into
 * `..data`). Dot entries (`..data`, `..2024_01_01...`, editors' swap files) are not listed: their
 * effect is seen through the symlinks. Throws when the root itself cannot be read.
 */
async function list(root: string): Promise<Listing> {
  const out: Listing = { files: [], dirs: [], unreadable: [] };
  const visit = async (dir: string, depth: number): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (dir === root) throw err;
      // Gone since its parent was listed: its files are really gone. Anything else: keep them.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') out.unreadable.push(dir);
      return;
    }
    out.dirs.push(dir);
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const st = await stat(p).catch(() => undefined);
        isDir = st?.isDirectory() ?? false;
        isFile = st?.isFile() ?? false;
      }
      if (isDir && depth < 32) await visit(p, depth + 1);
      else if (isFile && CONFIG_FILE.test(e.name)) out.files.push(p);
    }
  };
  await visit(root, 0);
  return out;
}

/**
 * Watches a directory tree of YAML/JSON files (see watchTree for how). Every event and every
 * periodic rescan lists the tree and compares inode, mtime and size, so adds, edits, deletes,
 * renames and symlink swaps are all reported, each file once per change. A file still being
 * written (its stat changes while it is read) is read again later. `onEvents` is never called
 * concurrently with itself.
 */
export function watchDirectory(
  dir: string,
  onEvents: (events: FileEvent[]) => void,
  logger: Logger,
  opts: DirectoryWatcherOptions = {},
): DirectoryWatcher {
  const seen = new Map<string, Seen>();
  let running = false;
  let again = false;
  let available: boolean | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const tree = watchTree(dir, () => void rescan(), {
    settleMs: SETTLE_MS,
    rescanIntervalMs: opts.rescanIntervalMs ?? 0,
    onError: (d, err) => logger.warn({ dir: d, err: capText(String(err)) }, 'cannot watch directory'),
  });

  const setAvailable = (ok: boolean, error?: string): void => {
    if (available === ok) return;
    available = ok;
    if (ok) logger.info({ dir }, 'config directory readable');
    else logger.error({ dir, err: capText(error ?? '') }, 'config directory missing or unreadable');
    opts.onAvailability?.(ok, error);
  };

  async function readOne(path: string, st: Stats): Promise<string | undefined> {
    if (st.size > MAX_FILE_BYTES) {
      logger.error({ path, size: st.size, max: MAX_FILE_BYTES }, 'config file too large; not read');
      return undefined;
    }
    let content: string;
    try {
      content = await readFile(path, 'utf8');
    } catch (err) {
      logger.warn({ path, err: capText(String(err)) }, 'config file unreadable; its last version is kept');
      return undefined;
    }
    // Changed while read: a writer is still at it. Read it again once it settles.
    const after = await stat(path).catch(() => undefined);
    if (!after || after.mtimeMs !== st.mtimeMs || after.size !== st.size || after.ino !== st.ino) {
      tree.poke();
      return undefined;
    }
    return content;
  }

  async function diff(): Promise<ScanResult> {
    const forced = tree.takeChanged();
    let listing: Listing;
    try {
      listing = await list(dir);
    } catch (err) {
      return { ok: false, error: String(err) };
    }
    tree.setDirectories(listing.dirs);
    const events: FileEvent[] = [];
    const present = new Set(listing.files);
    for (const path of listing.files) {
      let st: Stats;
      try {
        st = await stat(path);
      } catch {
        present.delete(path);
        continue;
      }
      const prev = seen.get(path);
      if (
        prev &&
        !forced.has(path) &&
        prev.ino === st.ino &&
        prev.mtimeMs === st.mtimeMs &&
        prev.size === st.size
      )
        continue;
      const content = await readOne(path, st);
      if (content === undefined) continue;
      seen.set(path, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size });
      events.push({ path, content });
    }
    const kept = (p: string) => listing.unreadable.some((d) => p.startsWith(`${d}/`));
    for (const path of [...seen.keys()]) {
      if (!present.has(path) && !kept(path)) {
        seen.delete(path);
        events.push({ path, content: undefined });
      }
    }
    return { ok: true, events };
  }

  async function rescan(): Promise<void> {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const r = await diff();
        if (closed) return;
        if (!r.ok) {
          setAvailable(false, r.error);
          clearTimeout(retry);
          retry = setTimeout(() => void rescan(), MISSING_RETRY_MS);
          break;
        }
        if (r.events.length > 0) onEvents(r.events);
        setAvailable(true);
      } while (again);
    } catch (err) {
      logger.error({ err: capText(String(err)), dir }, 'config directory scan failed');
    } finally {
      running = false;
    }
  }

  return {
    async scan() {
      running = true;
      let r: ScanResult;
      try {
        r = await diff();
      } finally {
        running = false;
      }
      if (r.ok) {
        available = true;
        logger.info({ dir, files: r.events.length }, 'config directory scanned');
      } else {
        tree.setDirectories([]);
        setAvailable(false, r.error);
        retry = setTimeout(() => void rescan(), MISSING_RETRY_MS);
      }
      return r;
    },
    close() {
      closed = true;
      clearTimeout(retry);
      tree.close();
    },
  };
}

/** Path of a file relative to the config dir, for messages. */
export function displayPath(dir: string, path: string): string {
  return relative(dir, path) || path;
}
