// Galley's file source under the ways editors, Kubernetes mounts and operators change a directory.
// Real galley processes; what they serve is read by a real MCP sink.
import assert from 'node:assert/strict';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { McpSink, McpUpdate } from '@keel/mcp';
import { unpackStruct } from '@keel/proto';
import { type TempDir, tempDir } from '@keel/testing';
import { type GalleyProcess, metricValue, type Recorder, recordingSink, startGalley } from '../src/index.js';

const GATEWAYS = 'istio/networking/v1alpha3/gateways';

function gw(name: string, host: string): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: ${name}
  namespace: default
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts:
    - ${host}
`;
}

/** name -> first host of every served Gateway in `u`. */
function hostsOf(u: McpUpdate): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of u.resources) {
    const spec = unpackStruct(r.body as { type_url: string; value: Uint8Array }) as {
      servers?: Array<{ hosts?: string[] }>;
    };
    out.set(r.metadata.name.replace(/^default\//, ''), spec.servers?.[0]?.hosts?.[0] ?? '');
  }
  return out;
}

/** Waits for a gateways update (after `since`) in which every `want` name has that host (undefined: absent). */
function served(
  updates: Recorder<McpUpdate>,
  want: Record<string, string | undefined>,
  what: string,
  since = 0,
) {
  return updates.next(
    (u) => {
      if (u.collection !== GATEWAYS) return false;
      const h = hostsOf(u);
      return Object.entries(want).every(([n, host]) => h.get(n) === host);
    },
    what,
    5000,
    since,
  );
}

/** Replaces `file` the way `sed -i` and vim do: write a temporary file, rename it over. */
async function saveByRename(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.swp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

describe('galley file source follows a directory as editors and Kubernetes change it', () => {
  let dir: TempDir;
  let galley: GalleyProcess;
  let sink: McpSink;
  let updates: Recorder<McpUpdate>;

  before(async () => {
    dir = await tempDir('keel-files-');
    await writeFile(path.join(dir.path, 'edited.yaml'), gw('edited', 'v1.example.com'));
    galley = await startGalley({
      configDir: dir.path,
      extraArgs: ['--debounce-quiet', '20ms', '--debounce-max', '100ms'],
    });
    ({ sink, updates } = recordingSink(galley.mcpAddress, [GATEWAYS]));
    sink.start();
    await served(updates, { edited: 'v1.example.com' }, 'initial state');
  });
  after(async () => {
    await sink?.stop();
    await galley?.stop();
    await dir?.cleanup();
  });

  it('rename-on-save, then in-place edits of the same file, are all seen', async () => {
    const file = path.join(dir.path, 'edited.yaml');
    await saveByRename(file, gw('edited', 'v2.example.com'));
    await served(updates, { edited: 'v2.example.com' }, 'after rename-on-save');
    await writeFile(file, gw('edited', 'v3.example.com'));
    await served(updates, { edited: 'v3.example.com' }, 'first in-place edit after the rename');
    await writeFile(file, gw('edited', 'v4.example.com'));
    await served(updates, { edited: 'v4.example.com' }, 'second in-place edit');
  });

  it('a ConfigMap-style mount (files behind ..data, swapped atomically) is read and followed', async () => {
    const cm = path.join(dir.path, 'configmap');
    await mkdir(path.join(cm, '..2026_01_01_00_00_00.1'), { recursive: true });
    await writeFile(
      path.join(cm, '..2026_01_01_00_00_00.1', 'mounted.yaml'),
      gw('mounted', 'm1.example.com'),
    );
    await symlink('..2026_01_01_00_00_00.1', path.join(cm, '..data'));
    await symlink('..data/mounted.yaml', path.join(cm, 'mounted.yaml'));
    await served(updates, { mounted: 'm1.example.com' }, 'mounted file read through its symlinks');
    // What the kubelet does on update: new timestamped dir, ..data_tmp -> it, rename over ..data.
    await mkdir(path.join(cm, '..2026_01_01_00_01_00.2'));
    await writeFile(
      path.join(cm, '..2026_01_01_00_01_00.2', 'mounted.yaml'),
      gw('mounted', 'm2.example.com'),
    );
    await symlink('..2026_01_01_00_01_00.2', path.join(cm, '..data_tmp'));
    await rename(path.join(cm, '..data_tmp'), path.join(cm, '..data'));
    await rm(path.join(cm, '..2026_01_01_00_00_00.1'), { recursive: true });
    await served(updates, { mounted: 'm2.example.com' }, 'after the atomic ..data swap');
  });

  it('a renamed directory and a directory created with its files are followed', async () => {
    await mkdir(path.join(dir.path, 'team-a'));
    await writeFile(path.join(dir.path, 'team-a', 'moved.yaml'), gw('moved', 'd1.example.com'));
    await served(updates, { moved: 'd1.example.com' }, 'file in a new directory');
    await rename(path.join(dir.path, 'team-a'), path.join(dir.path, 'team-b'));
    const since = updates.mark();
    await writeFile(path.join(dir.path, 'team-b', 'moved.yaml'), gw('moved', 'd2.example.com'));
    await served(updates, { moved: 'd2.example.com' }, 'edit in the renamed directory', since);
    // Created and filled at once: the file exists before any watch on its directory.
    await mkdir(path.join(dir.path, 'nested', 'deeper'), { recursive: true });
    await writeFile(path.join(dir.path, 'nested', 'deeper', 'fresh.yaml'), gw('fresh', 'f1.example.com'));
    await served(updates, { fresh: 'f1.example.com' }, 'file in a freshly created nested directory');
  });

  it('a file caught half written keeps the last good version of everything it held', async () => {
    const file = path.join(dir.path, 'pair.yaml');
    const full = (v: string) =>
      `${gw('pair-one', `${v}.one.example.com`)}---\n${gw('pair-two', `${v}.two.example.com`)}`;
    await writeFile(file, full('p1'));
    await served(updates, { 'pair-one': 'p1.one.example.com', 'pair-two': 'p1.two.example.com' }, 'pair');
    const next = full('p2');
    const cut = next.indexOf('kind: Gateway', next.indexOf('pair-one')) + 6;
    await writeFile(file, next.slice(0, cut));
    await galley.proc.waitForLine(
      /"file":"pair.yaml".*"kept":1|resources it no longer lists are kept.*pair.yaml/,
      5000,
    );
    const since = updates.mark();
    await writeFile(path.join(dir.path, 'edited.yaml'), gw('edited', 'v5.example.com'));
    const u = await served(updates, { edited: 'v5.example.com' }, 'a later snapshot', since);
    assert.equal(hostsOf(u.value).get('pair-two'), 'p1.two.example.com', 'pair-two was never pushed away');
    await writeFile(file, next);
    await served(
      updates,
      { 'pair-one': 'p2.one.example.com', 'pair-two': 'p2.two.example.com' },
      'completed',
    );
  });

  it('duplicates across files: reported with both file:line, first in path order wins, deleting one keeps the other', async () => {
    await writeFile(path.join(dir.path, 'dup-b.yaml'), `# b\n${gw('dup', 'from-b.example.com')}`);
    await served(updates, { dup: 'from-b.example.com' }, 'only b');
    await writeFile(path.join(dir.path, 'dup-a.yaml'), gw('dup', 'from-a.example.com'));
    await served(updates, { dup: 'from-a.example.com' }, 'a comes first in path order');
    const line = await galley.proc.waitForLine(/duplicate Gateway default\/dup/, 5000);
    assert.match(line, /dup-a\.yaml:1 is served/);
    assert.match(line, /dup-b\.yaml:2 ignored/);
    assert.ok(metricValue(await galley.metrics(), 'galley_source_duplicate_resources_total') >= 1);
    // Editing the ignored copy changes nothing served; deleting the served one falls back to it.
    await rm(path.join(dir.path, 'dup-a.yaml'));
    await served(updates, { dup: 'from-b.example.com' }, 'b is served once a is deleted');
    await writeFile(path.join(dir.path, 'dup-a.yaml'), gw('dup', 'again-a.example.com'));
    await served(updates, { dup: 'again-a.example.com' }, 'a back');
    await rm(path.join(dir.path, 'dup-b.yaml'));
    const since = updates.mark();
    await writeFile(path.join(dir.path, 'edited.yaml'), gw('edited', 'v6.example.com'));
    const u = await served(updates, { edited: 'v6.example.com' }, 'later snapshot', since);
    assert.equal(hostsOf(u.value).get('dup'), 'again-a.example.com', 'deleting b kept a');
  });
});

describe('galley with a missing --config-dir', () => {
  let parent: TempDir;
  let galley: GalleyProcess;

  before(async () => {
    parent = await tempDir('keel-missing-');
  });
  after(async () => {
    await galley?.stop();
    await parent?.cleanup();
  });

  it('stays unready and publishes nothing until the directory appears, then serves it', async () => {
    const dir = path.join(parent.path, 'not-yet');
    galley = await startGalley({ configDir: dir, extraArgs: ['--debounce-quiet', '20ms'] });
    await galley.proc.waitForLine(/config directory missing or unreadable/, 5000);
    assert.equal((await galley.get(galley.monitoringPort, '/ready')).status, 503);
    const { sink, updates } = recordingSink(galley.mcpAddress, [GATEWAYS]);
    const connected = new Promise<void>((resolve) => sink.on('connected', resolve));
    sink.start();
    try {
      await connected;
      // The directory appears with its file in it (created aside, renamed into place).
      const staging = path.join(parent.path, 'staging');
      await mkdir(staging);
      await writeFile(path.join(staging, 'gw.yaml'), gw('arrived', 'a.example.com'));
      await rename(staging, dir);
      const first = await updates.next((u) => u.collection === GATEWAYS, 'first gateways update', 8000);
      assert.equal(updates.items.filter((i) => i.value.collection === GATEWAYS).length, 1);
      assert.deepEqual(
        [...hostsOf(first.value)],
        [['arrived', 'a.example.com']],
        'the first snapshot is not empty',
      );
      assert.equal((await galley.get(galley.monitoringPort, '/ready')).status, 200);
    } finally {
      await sink.stop();
    }
  });
});
