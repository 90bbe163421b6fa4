import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

const BIN = path.join(__dirname, 'bin.ts');
const SUPERVISOR = path.join(__dirname, 'supervisor.ts');
const folders: string[] = [];
after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

/**
 * A server file that records each start in `starts` and exits with the code its `codes` list
 * gives for that start (the last one from then on).
 */
async function fakeServer(codes: readonly number[]) {
  const folder = await mkdtemp(path.join(tmpdir(), 'supervisor-'));
  folders.push(folder);
  const starts = path.join(folder, 'starts');
  const server = path.join(folder, 'server.js');
  await writeFile(starts, '');
  await writeFile(
    server,
    `const fs = require('node:fs');
const runs = fs.readFileSync(${JSON.stringify(starts)}, 'utf8').length;
fs.appendFileSync(${JSON.stringify(starts)}, process.env.DEV_SUPERVISOR === '1' && process.env.NODE_ENV === 'development' ? 'x' : '?');
process.stdout.write('started ' + (runs + 1) + '\\n');
process.exit(${JSON.stringify(codes)}[Math.min(runs, ${codes.length - 1})]);
`,
  );
  return { folder, server, starts };
}

/** `superviseDevServer` in a process of its own, as `next-channels-dev` runs it. */
function supervise(serverFile: string, watch: string, quickFailMs: number) {
  const script = `require(${JSON.stringify(SUPERVISOR)}).superviseDevServer(${JSON.stringify({ serverFile, watch: [watch], quickFailMs })})`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(output)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const waitFor = (pattern: RegExp): Promise<void> =>
    pattern.test(output) ? Promise.resolve() : new Promise((resolve) => waiters.push({ pattern, resolve }));
  return { child, waitFor };
}

describe('next-channels-dev', () => {
  it('gives the server a fresh process when it exits with 75, and exits with its code otherwise', { timeout: 20_000 }, async () => {
    const { server, starts, folder } = await fakeServer([75, 0]);
    // Every start counts as long-lived: a 75 gets a new process at once.
    const { child } = supervise(server, folder, 0);
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
    // Two starts, each in development and told it runs under the supervisor.
    assert.equal(await readFile(starts, 'utf8'), 'xx');
  });

  it('waits for a change to the code after a start that failed at once, then starts again', { timeout: 20_000 }, async () => {
    const { server, starts, folder } = await fakeServer([75, 3]);
    const { child, waitFor } = supervise(server, folder, 60_000);
    await waitFor(/waiting for a change to the code/);
    assert.equal(await readFile(starts, 'utf8'), 'x');
    await writeFile(path.join(folder, 'fixed.js'), '// a fix\n');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 3);
    assert.equal(await readFile(starts, 'utf8'), 'xx');
  });

  it('refuses to run without a server file (the command)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN], { stdio: ['ignore', 'ignore', 'pipe'] });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2);
  });
});
