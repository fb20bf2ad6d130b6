import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Logger } from '@keel/runtime';

const CONFIG_FILE = /\.(ya?ml|json)$/i;
/** Quiet time after the last change event before files are read. */
const SETTLE_MS = 100;

export interface FileEvent {
  /** Absolute path. */
  path: string;
  /** New content, or undefined when the file is gone. */
  content: string | undefined;
}

export interface DirectoryWatcher {
  /** Reads every config file once; resolves with their events. */
  scan(): Promise<FileEvent[]>;
  close(): void;
}

interface Seen {
  mtimeMs: number;
  size: number;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile() && CONFIG_FILE.test(e.name)) out.push(p);
  }
  return out;
}

/**
 * Watches a directory tree of YAML/JSON files. Any change event triggers a rescan that compares
 * mtime and size, so adds, edits, deletes and renames (a delete plus an add) are all reported,
 * each file once per change. `onEvents` is never called concurrently with itself.
 */
export function watchDirectory(
  dir: string,
  onEvents: (events: FileEvent[]) => void,
  logger: Logger,
): DirectoryWatcher {
  const seen = new Map<string, Seen>();
  const dirty = new Set<string>();
  let watcher: FSWatcher | undefined;
  let settle: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;

  async function diff(): Promise<FileEvent[]> {
    const forced = new Set(dirty);
    dirty.clear();
    const files = await listFiles(dir);
    const events: FileEvent[] = [];
    const present = new Set(files);
    for (const path of files) {
      let st: import('node:fs').Stats;
      try {
        st = await stat(path);
      } catch {
        continue;
      }
      const prev = seen.get(path);
      if (prev && !forced.has(path) && prev.mtimeMs === st.mtimeMs && prev.size === st.size) continue;
      let content: string;
      try {
        content = await readFile(path, 'utf8');
      } catch (err) {
        logger.warn({ path, err: String(err) }, 'config file unreadable');
        continue;
      }
      seen.set(path, { mtimeMs: st.mtimeMs, size: st.size });
      events.push({ path, content });
    }
    for (const path of [...seen.keys()]) {
      if (!present.has(path)) {
        seen.delete(path);
        events.push({ path, content: undefined });
      }
    }
    return events;
  }

  async function rescan(): Promise<void> {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const events = await diff();
        if (events.length > 0) onEvents(events);
      } while (again);
    } catch (err) {
      logger.error({ err: String(err), dir }, 'config directory scan failed');
    } finally {
      running = false;
    }
  }

  return {
    async scan() {
      const events = await diff();
      try {
        watcher = watch(dir, { recursive: true }, (_type, file) => {
          // Same-size rewrites within one mtime tick are caught by forgetting the named file.
          if (file) dirty.add(join(dir, String(file)));
          // Wait for writes to settle: a file read mid-write (truncated, half written) would look
          // like deleted resources.
          clearTimeout(settle);
          settle = setTimeout(() => void rescan(), SETTLE_MS);
        });
        watcher.on('error', (err) =>
          logger.error({ err: String(err), dir }, 'config directory watch failed'),
        );
      } catch (err) {
        logger.error({ err: String(err), dir }, 'cannot watch config directory');
      }
      logger.info({ dir, files: events.length }, 'config directory scanned');
      return events;
    },
    close() {
      clearTimeout(settle);
      watcher?.close();
    },
  };
}

/** Path of a file relative to the config dir, for messages. */
export function displayPath(dir: string, path: string): string {
  return relative(dir, path) || path;
}
