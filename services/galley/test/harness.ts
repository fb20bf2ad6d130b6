import { EventEmitter } from 'node:events';
import { createMcpSink, type McpSink, type McpUpdate } from '@keel/mcp';
import { silentLogger } from '@keel/runtime';
import { withTimeout } from '@keel/testing';

/** A real MCP sink recording every update, with a way to await the next update that matches. */
export function recordingSink(
  address: string,
  collections: readonly string[],
  opts: { failOn?: string; sinkId?: string } = {},
) {
  const updates: McpUpdate[] = [];
  const emitter = new EventEmitter();
  const sink: McpSink = createMcpSink({
    address,
    collections,
    sinkId: opts.sinkId ?? 'test-sink',
    logger: silentLogger,
    reconnectDelayMs: 100,
    apply: (u) => {
      if (opts.failOn === u.collection) throw new Error(`test sink refuses ${u.collection}`);
      updates.push(u);
      emitter.emit('update', u);
    },
  });
  /** Resolves with the first update (already received or future) after `since` matching `pred`. */
  const waitUpdate = (
    pred: (u: McpUpdate) => boolean,
    timeoutMs: number,
    what: string,
    since = updates.length,
  ) => {
    const seen = updates.slice(since).find(pred);
    if (seen) return Promise.resolve(seen);
    return withTimeout(
      new Promise<McpUpdate>((resolve) => {
        const on = (u: McpUpdate) => {
          if (!pred(u)) return;
          emitter.off('update', on);
          resolve(u);
        };
        emitter.on('update', on);
      }),
      timeoutMs,
      what,
    );
  };
  return { sink, updates, waitUpdate };
}
