import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { HotReloader } from './hot-reloader';
import { silentLogger } from '../logger';

const folders: string[] = [];
after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

interface Generation {
  readonly version: number;
}

/** An entry module and a part it loads, in a folder of their own, watched by a reloader. */
async function project(settleMs: number) {
  const folder = await mkdtemp(path.join(tmpdir(), 'hot-reload-'));
  folders.push(folder);
  const part = path.join(folder, 'part.js');
  await writeFile(part, 'exports.version = 1;\n');
  await writeFile(path.join(folder, 'entry.js'), "exports.version = require('./part.js').version;\n");
  const waiting: Array<(value: { exports: Generation; ms: number; at: number }) => void> = [];
  const arrived: Array<{ exports: Generation; ms: number; at: number }> = [];
  const reloaded = (value: { exports: Generation; ms: number; at: number }): void => {
    const waiter = waiting.shift();
    if (waiter) waiter(value);
    else arrived.push(value);
  };
  /** The reload after the ones already taken. */
  const reload = (): Promise<{ exports: Generation; ms: number; at: number }> => {
    const ready = arrived.shift();
    return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
  };
  const nextReload = reload();
  const reloader = new HotReloader<Generation>({
    entry: path.join(folder, 'entry.js'),
    watch: [folder],
    logger: silentLogger,
    settleMs,
    loaded: (exports, report) => reloaded({ exports, ms: report.ms, at: performance.now() }),
    restartNeeded: () => assert.fail('the part belongs to the generation'),
  });
  assert.equal(reloader.start().version, 1);
  return { folder, part, reloader, nextReload, reload };
}

describe('HotReloader', () => {
  it('loads the new code on a save, and reports the time from the change, settle wait included', async (t) => {
    const settleMs = 150;
    const { part, reloader, nextReload } = await project(settleMs);
    const savedAt = performance.now();
    await writeFile(part, 'exports.version = 2;\n');
    const reload = await nextReload;
    reloader.close();
    const wallMs = reload.at - savedAt;
    assert.equal(reload.exports.version, 2);
    // Only the require of the new generation takes a few ms: the settle wait must be counted.
    assert.ok(reload.ms >= settleMs, `reported ${reload.ms} ms, under the ${settleMs} ms settle wait`);
    assert.ok(reload.ms <= Math.ceil(wallMs) + 1, `reported ${reload.ms} ms, more than the ${Math.round(wallMs)} ms since the save`);
    t.diagnostic(`save → new code loaded: ${Math.round(wallMs)} ms (logged ms: ${reload.ms}, settle wait ${settleMs} ms)`);
  });

  it('counts a burst of saves from its first change', async () => {
    const settleMs = 150;
    const { part, reloader, nextReload } = await project(settleMs);
    await writeFile(part, 'exports.version = 2;\n');
    await delay(60);
    await writeFile(part, 'exports.version = 3;\n');
    const reload = await nextReload;
    reloader.close();
    assert.equal(reload.exports.version, 3);
    assert.ok(reload.ms >= settleMs + 50, `reported ${reload.ms} ms for a burst 60 ms long and a ${settleMs} ms settle wait`);
  });

  it('watches a folder created after it started', { timeout: 10_000 }, async () => {
    const { folder, reloader, nextReload, reload } = await project(20);
    await mkdir(path.join(folder, 'feature'));
    const feature = path.join(folder, 'feature', 'part.js');
    await writeFile(feature, 'exports.version = 10;\n');
    await writeFile(path.join(folder, 'entry.js'), "exports.version = require('./feature/part.js').version;\n");
    assert.equal((await nextReload).exports.version, 10);
    await writeFile(feature, 'exports.version = 11;\n');
    const second = await reload();
    reloader.close();
    assert.equal(second.exports.version, 11);
  });
});
