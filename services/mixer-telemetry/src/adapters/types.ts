// The adapter registry contract: a handler config plus the instances routed to it -> a HandlerImpl.
import type { Writable } from 'node:stream';
import type { Bus } from '@keel/bus';
import type { Logger } from '@keel/runtime';
import type { HandlerConfig } from '../config/model.js';
import type { CompiledInstance } from '../config/templates.js';
import type { PromStore } from '../prom/store.js';
import type { SpanSink } from './tracespan.js';

/** A configured handler. `handle` is called with instances already evaluated for the current entry. */
export interface HandlerImpl {
  readonly fqn: string;
  handle(inst: CompiledInstance, now: number): void;
  /** End of a batch: write what was buffered. */
  flush(): void;
  close(): void;
}

export interface AdapterContext {
  prom: PromStore;
  /** Where stdio handlers write (process.stdout unless a test gives its own). */
  stdout: Writable;
  stderr: Writable;
  /** The NATS bus once connected (log entries are dropped, counted, before that). */
  bus: () => Bus | undefined;
  spans: SpanSink;
  logger: Logger;
}

export type BuildResult = { ok: true; value: HandlerImpl } | { ok: false; errors: string };

export interface AdapterFactory {
  /** Templates this adapter takes (a rule sending another template to it is rejected). */
  templates: ReadonlySet<string>;
  build(handler: HandlerConfig, instances: readonly CompiledInstance[], ctx: AdapterContext): BuildResult;
}
