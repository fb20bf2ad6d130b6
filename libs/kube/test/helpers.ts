import { withTimeout } from '@keel/testing';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { InformerEventType } from '../src/index.js';

/** Resolves waiters whenever a new value is recorded and their condition holds. */
export class Recorder<E> {
  readonly items: E[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  push(item: E): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  /** Waits (bounded) until `check(items)` holds, re-checked on every push. */
  until(check: (items: E[]) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const c = () => check(this.items);
    if (c()) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.waiters.push({ check: c, resolve }));
    return withTimeout(p, timeoutMs, what);
  }
}

export interface SeenEvent {
  type: InformerEventType;
  name: string;
  rv: string;
  label?: string;
}

/** Informer events as `type:name` strings, in order. */
export function eventLog(rec: Recorder<SeenEvent>): string[] {
  return rec.items.map((e) => `${e.type}:${e.name}`);
}

export function seen(type: InformerEventType, obj: KubernetesObject & { spec?: unknown }): SeenEvent {
  const label = obj.metadata?.labels?.version;
  return { type, name: obj.metadata?.name ?? '', rv: obj.metadata?.resourceVersion ?? '', label };
}

/** A v1 Service fixture. */
export function service(name: string, namespace = 'default', version = 'v1') {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { app: name, version } },
    spec: { ports: [{ name: 'http', port: 9080 }] },
  };
}

/** Captures pino JSON lines, so tests can wait for a log line. */
export class LogCapture extends Recorder<Record<string, unknown>> {
  write(line: string): void {
    this.push(JSON.parse(line) as Record<string, unknown>);
  }
}
