// Galley (real, file mode on a temp dir) -> MCP -> mixer-telemetry (all ports 0).
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGalley, type Galley } from '@keel/galley';
import { silentLogger } from '@keel/runtime';
import { once, repoRoot, type TempDir, tempDir } from '@keel/testing';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createMixerTelemetry, type MixerTelemetry, type MixerTelemetryOptions } from '../src/index.js';
import { parseSamples, type Sample } from './promtext.js';

export const MESH_FIXTURE = fileURLToPath(new URL('../../test/fixtures/mesh.yaml', import.meta.url));
export const DEFAULT_TELEMETRY_CONFIG = join(repoRoot(), 'deploy/local/config/istio-telemetry.yaml');

export interface Plane {
  galley: Galley;
  telemetry: MixerTelemetry;
  ports: {
    grpcPort: number;
    secureGrpcPort?: number;
    metricsPort: number;
    monitoringPort: number;
    mcpPort: number;
    galleyMonitoring: number;
  };
  stdout: { lines(): string[] };
  spans: InMemorySpanExporter;
  dir: TempDir;
  samples(): Promise<Sample[]>;
  /** Writes a config file into Galley's directory and waits for mixer-telemetry to apply it. */
  addConfig(name: string, yaml: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts Galley over the mesh fixture, the default telemetry config and `extraFiles`, and mixer-telemetry on it. */
export async function startPlane(
  extraFiles: string[] = [],
  options: Partial<MixerTelemetryOptions> = {},
): Promise<Plane> {
  const dir = await tempDir('telemetry');
  copyFileSync(MESH_FIXTURE, join(dir.path, 'mesh.yaml'));
  copyFileSync(DEFAULT_TELEMETRY_CONFIG, join(dir.path, 'istio-telemetry.yaml'));
  for (const [i, f] of extraFiles.entries()) copyFileSync(f, join(dir.path, `extra-${i}.yaml`));
  const galley = createGalley({
    configDir: dir.path,
    host: '127.0.0.1',
    mcpPort: 0,
    monitoringPort: 0,
    debounceQuietMs: 50,
    debounceMaxMs: 200,
    logger: silentLogger,
  });
  const g = await galley.start();
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const spans = new InMemorySpanExporter();
  const telemetry = createMixerTelemetry({
    mcpAddress: `127.0.0.1:${g.mcpPort}`,
    host: '127.0.0.1',
    grpcPort: 0,
    metricsPort: 0,
    monitoringPort: 0,
    stdout: out,
    spanExporter: spans,
    logger: silentLogger,
    ...options,
  });
  const readyEvent = once(telemetry.events, 'ready', 15_000);
  const t = await telemetry.start();
  await readyEvent;
  const ports = { ...t, mcpPort: g.mcpPort, galleyMonitoring: g.monitoringPort };
  return {
    galley,
    telemetry,
    ports,
    stdout: { lines: () => text.split('\n').filter(Boolean) },
    spans,
    dir,
    async samples() {
      const res = await fetch(`http://127.0.0.1:${t.metricsPort}/metrics`);
      return parseSamples(await res.text());
    },
    async addConfig(name, yaml) {
      const applied = once(telemetry.events, 'config', 10_000);
      writeFileSync(join(dir.path, name), yaml);
      await applied;
    },
    async stop() {
      await telemetry.stop();
      await galley.stop();
      await dir.cleanup();
    },
  };
}
