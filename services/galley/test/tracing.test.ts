import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { initTracing, silentLogger } from '@keel/runtime';
import { tempDir } from '@keel/testing';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createGalley } from '../src/index.js';

describe('galley tracing', () => {
  it('exports one span per published snapshot', async () => {
    const dir = await tempDir('galley-trace-');
    await writeFile(
      join(dir.path, 'ns.yaml'),
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n',
    );
    const exporter = new InMemorySpanExporter();
    const tracing = initTracing({ serviceName: 'galley', exporter, register: false });
    const galley = createGalley({
      configDir: dir.path,
      host: '127.0.0.1',
      mcpPort: 0,
      monitoringPort: 0,
      logger: silentLogger,
      tracer: tracing.tracer,
    });
    await galley.start();
    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'galley.snapshot');
    assert.equal(spans.length, 1);
    assert.equal(spans[0]!.attributes['keel.snapshot.resources'], 1);
    await galley.stop();
    await tracing.shutdown();
    await dir.cleanup();
  });
});
