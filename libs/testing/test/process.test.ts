import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startProcess } from '../src/index.js';

const script = `
console.log('booting');
console.error('warming up');
setTimeout(() => console.log('ready on 1234'), 20);
process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });
setInterval(() => {}, 1000);
`;

describe('startProcess', () => {
  it('waits for the ready line, collects lines, and stops with SIGTERM', async () => {
    const p = await startProcess(process.execPath, ['-e', script], { readyLine: /ready on \d+/ });
    try {
      assert.deepEqual(p.stdoutLines.slice(0, 2), ['booting', 'ready on 1234']);
      // stderr is a separate pipe: under load its line may arrive after stdout's ready line.
      assert.equal(await p.waitForLine(/warming/), 'warming up');
      assert.deepEqual(p.stderrLines, ['warming up']);
    } finally {
      await p.stop();
    }
    assert.equal(await p.exited, 0);
    assert.equal(await p.waitForLine(/bye/, 1000), 'bye');
  });

  it('rejects when the process exits before its ready line', async () => {
    await assert.rejects(
      startProcess(process.execPath, ['-e', 'console.log("oops"); process.exit(3)'], { readyLine: /never/ }),
      /exited with 3 before printing \/never\/; last output:\noops/,
    );
  });

  it('rejects when the ready line does not come in time', async () => {
    await assert.rejects(
      startProcess(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
        readyLine: /never/,
        timeoutMs: 50,
      }),
      /no line matching \/never\/ within 50 ms/,
    );
  });

  it('SIGKILLs a process that ignores SIGTERM', { timeout: 10000 }, async () => {
    const p = await startProcess(
      process.execPath,
      ['-e', 'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000)'],
      { readyLine: /up/ },
    );
    await p.stop();
    assert.equal(await p.exited, 'SIGKILL');
  });

  it('rejects for a missing binary', async () => {
    await assert.rejects(startProcess('/nonexistent/keel-binary', []), /ENOENT/);
  });
});
