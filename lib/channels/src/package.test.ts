/**
 * The package as npm ships it: what `npm pack` puts in the tarball, and what each entry loads.
 * Runs against the build (`npm run build -w next-channels`, which the test command runs first).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PACKAGE_ROOT = path.resolve(__dirname, '..');

interface PackedFile {
  readonly path: string;
}

describe('the next-channels package', () => {
  it('packs its build, README and licence only: no source, no test, nothing of the chat', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PACKAGE_ROOT });
    const [packed] = JSON.parse(stdout) as Array<{ files: PackedFile[] }>;
    const files = packed!.files.map((file) => file.path).sort();
    const unexpected = files.filter((file) => !/^(dist\/.+\.(js|d\.ts)|bin\/next-channels-dev\.js|package\.json|README\.md|LICENSE)$/.test(file));
    assert.deepEqual(unexpected, []);
    assert.deepEqual(files.filter((file) => /\.test\.|chat|testing\/engines/.test(file)), []);
    for (const required of ['dist/index.js', 'dist/index.d.ts', 'dist/next/index.js', 'dist/redis/index.js', 'dist/dev/bin.js', 'bin/next-channels-dev.js', 'README.md']) {
      assert.ok(files.includes(required), `${required} is not in the tarball`);
    }
  });

  it('names commands whose files exist before a build, so npm links them at install in a workspace', async () => {
    const manifest = JSON.parse(await readFile(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    for (const [command, file] of Object.entries(manifest.bin)) {
      assert.doesNotMatch(file, /^(\.\/)?dist\//, `${command} points into dist/, which a fresh clone has not built when npm links commands`);
      const text = await readFile(path.join(PACKAGE_ROOT, file), 'utf8');
      assert.match(text, /^#!\/usr\/bin\/env node\n/, `${command} has no node shebang`);
    }
  });

  it('has a built file behind every entry of its exports map', async () => {
    const manifest = JSON.parse(await readFile(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, string | { types: string; default: string }>;
    };
    for (const [entry, target] of Object.entries(manifest.exports)) {
      const files = typeof target === 'string' ? [target] : [target.types, target.default];
      for (const file of files) await readFile(path.join(PACKAGE_ROOT, file)).catch(() => assert.fail(`${entry}: ${file} is missing`));
    }
  });

  it('loads its core, testing and dev entries without ioredis, pino, prom-client or next', async () => {
    const script = `
      for (const entry of ['next-channels', 'next-channels/testing', 'next-channels/dev']) require(entry);
      const loaded = Object.keys(require.cache).filter((file) => /[\\\\/]node_modules[\\\\/](ioredis|pino|prom-client|next)[\\\\/]/.test(file));
      process.stdout.write(JSON.stringify(loaded));
    `;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: PACKAGE_ROOT });
    assert.deepEqual(JSON.parse(stdout), []);
  });

  it('loads its client entry from its own files and three of the core, none that needs Node; its React entry adds react only', async () => {
    const script = `
      const before = new Set(Object.keys(require.cache));
      require('next-channels/client');
      const client = Object.keys(require.cache).filter((file) => !before.has(file));
      require('next-channels/react');
      const react = Object.keys(require.cache).filter((file) => !before.has(file) && !client.includes(file));
      process.stdout.write(JSON.stringify({ client, react }));
    `;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: PACKAGE_ROOT });
    const { client, react } = JSON.parse(stdout) as { client: string[]; react: string[] };
    const relative = (file: string): string => path.relative(path.join(PACKAGE_ROOT, 'dist'), file).split(path.sep).join('/');
    const outside = client.map(relative).filter((file) => !/^(client\/[\w-]+|close-codes|framework-frames|protocol)\.js$/.test(file));
    assert.deepEqual(outside, []);
    assert.ok(react.some((file) => /[\\/]node_modules[\\/]react[\\/]/.test(file)), 'the React entry did not load react');
    assert.deepEqual(react.filter((file) => !/[\\/]node_modules[\\/]react[\\/]/.test(file)).map(relative), ['react/index.js']);
  });

  it("types every scope.user by the app's Register, as the README shows it", { timeout: 60_000 }, async () => {
    const readme = await readFile(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
    const declaration = /Type your users once[\s\S]*?```text\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(declaration, 'the README no longer shows the Register declaration');
    const folder = await mkdtemp(path.join(tmpdir(), 'next-channels-register-'));
    try {
      await symlink(path.join(PACKAGE_ROOT, '..', '..', 'node_modules'), path.join(folder, 'node_modules'));
      const config = { compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', types: ['node'] }, files: ['check.ts'] };
      await writeFile(path.join(folder, 'tsconfig.json'), JSON.stringify(config));
      const check = (use: string) =>
        writeFile(path.join(folder, 'check.ts'), `import type { Scope } from 'next-channels';\n${declaration}\nexport const role = (scope: Scope) => ${use};\n`);
      const tsc = path.join(PACKAGE_ROOT, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
      await check('scope.user?.role');
      await run(process.execPath, [tsc, '-p', folder]);
      await check('scope.user?.rank');
      await assert.rejects(run(process.execPath, [tsc, '-p', folder]), (error: { stdout?: string }) => /Property 'rank' does not exist/.test(error.stdout ?? ''));
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
