import { type ConfigError, meshConfigDefaults, parseDocuments, type Resource } from '@keel/config';
import { buildSnapshot, Ingestor, ResourceStore, servedCollections } from '@keel/galley';
import { stringify } from 'yaml';
import { generateMesh, specForTotal, toManifest } from './mesh.js';
import { median, nowMs } from './stats.js';
import type { BenchContext, Benchmark, BenchResult } from './types.js';

/** YAML files of a generated mesh: `perFile` documents each, as a config directory would hold them. */
export function meshFiles(total: number, perFile = 100): Array<{ name: string; text: string }> {
  const resources = generateMesh(specForTotal(total));
  const files: Array<{ name: string; text: string }> = [];
  for (let i = 0; i < resources.length; i += perFile) {
    const docs = resources.slice(i, i + perFile).map((r) => stringify(toManifest(r)));
    files.push({ name: `mesh-${files.length}.yaml`, text: docs.join('---\n') });
  }
  return files;
}

export interface IngestRun {
  ms: number;
  accepted: number;
  rejected: number;
  snapshotResources: number;
}

const quietReporter = { accepted: () => {}, rejected: (_e: ConfigError[], _o: string) => {} };

/** Parses, validates and snapshots `files` through Galley's own pieces; returns the wall time. */
export function ingestOnce(files: ReadonlyArray<{ name: string; text: string }>): IngestRun {
  const t0 = nowMs();
  const store = new ResourceStore();
  const ingestor = new Ingestor(store, quietReporter);
  let accepted = 0;
  let rejected = 0;
  for (const f of files) {
    const parsed = parseDocuments(f.text, f.name);
    const s = ingestor.applyOriginSet(f.name, parsed.resources, parsed.errors);
    accepted += s.accepted;
    rejected += s.rejected;
  }
  const mesh = meshConfigDefaults() as unknown as Record<string, unknown>;
  const snap = buildSnapshot(store, servedCollections(), mesh, '1');
  const ms = nowMs() - t0;
  let snapshotResources = 0;
  for (const list of snap.collections.values()) snapshotResources += list.length;
  return { ms, accepted, rejected, snapshotResources };
}

/** Baseline: the same files through the YAML parser (parseDocuments) only. */
export function parseOnly(files: ReadonlyArray<{ name: string; text: string }>): number {
  const t0 = nowMs();
  let n = 0;
  for (const f of files) n += parseDocuments(f.text, f.name).resources.length;
  if (n === 0) throw new Error('parse-only baseline parsed nothing');
  return nowMs() - t0;
}

function cloneOnly(resources: Resource[]): number {
  const t0 = nowMs();
  JSON.parse(JSON.stringify(resources));
  return nowMs() - t0;
}

export const galleyIngest: Benchmark = {
  name: 'galley-ingest',
  description: 'galley: 10,000 resources parsed, validated and snapshotted (in process)',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const total = ctx.quick ? 200 : 10_000;
    const files = meshFiles(total);
    const resources = generateMesh(specForTotal(total));
    ingestOnce(files); // warm-up: JIT and lazily loaded validators
    const full: number[] = [];
    const parse: number[] = [];
    const clone: number[] = [];
    let last: IngestRun | undefined;
    for (let i = 0; i < ctx.runs; i++) {
      parse.push(parseOnly(files));
      last = ingestOnce(files);
      if (last.rejected > 0 || last.accepted !== resources.length) {
        throw new Error(
          `galley-ingest: ${last.accepted} accepted, ${last.rejected} rejected of ${resources.length}`,
        );
      }
      full.push(last.ms);
      clone.push(cloneOnly(resources));
      ctx.log(`galley-ingest run ${i + 1}: ${last.ms.toFixed(0)} ms (parse-only ${parse[i]?.toFixed(0)} ms)`);
    }
    return {
      rows: [
        {
          name: 'galley-ingest',
          figure: median(full),
          unit: 'ms',
          target: 2000,
          cmp: 'le',
          baseline: median(parse),
          baselineLabel: 'parseDocuments only',
          samples: full,
          note: `${resources.length} resources in ${files.length} files`,
        },
      ],
      details: {
        resources: resources.length,
        files: files.length,
        snapshotResources: last?.snapshotResources,
        parseOnlyMs: parse,
        jsonCloneMs: clone,
      },
    };
  },
};
