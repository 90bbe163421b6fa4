import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import { assertShowsFilesVerbatim, proseOf, repositoryRoot } from '../shown-files';

// The package's README walks a reader through a new app; this folder is that app's files, as the
// README shows them. The README's words name them as the reader's app does: `channels/room.ts`
// is docs/package-readme/channels/room.ts here. It also shows a file of examples/minimal, the
// recipe it points to for a login of the app's own.
const README = 'lib/channels/README.md';
const APP = path.join(repositoryRoot, 'docs', 'package-readme');

it('shows every snippet file exactly as it is, and every file of the app it names exists', async () => {
  const shown = await assertShowsFilesVerbatim(README);
  assert.ok(shown.length >= 7, `found ${shown.length} snippets`);
  for (const file of shown) assert.ok(/^(docs\/package-readme|examples\/minimal)\//.test(file), `${file} is not a file of the README's app or of examples/minimal`);

  const prose = await proseOf(README);
  const named = [...prose.matchAll(/`((?:channels|app)\/[^`\s]+\.tsx?|(?:routing|server|next\.config)\.ts)`/g)].map((match) => match[1]!);
  assert.ok(named.length >= 8, `found ${named.length} file names`);
  for (const file of named) {
    await access(path.join(APP, file)).catch(() => assert.fail(`the README names ${file}, which is not in docs/package-readme/`));
  }
});

it("gives scripts that run the package's own commands", async () => {
  const readme = await readFile(path.join(repositoryRoot, README), 'utf8');
  const block = /```json\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'no package.json scripts block');
  const { scripts } = JSON.parse(`{${block}}`) as { scripts: Record<string, string> };
  const pkg = JSON.parse(await readFile(path.join(repositoryRoot, 'lib/channels/package.json'), 'utf8')) as { bin: Record<string, string> };
  const command = scripts.dev?.split(' ')[0] ?? '';
  assert.ok(command in pkg.bin, `dev runs ${scripts.dev}, not a command of the package`);
  assert.equal(scripts.start, 'NODE_ENV=production node --import tsx server.ts');
  // The project's own test:unit is the same command (with Next's telemetry off).
  const root = JSON.parse(await readFile(path.join(repositoryRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.ok(root.scripts['test:unit']?.endsWith(scripts['test:unit']!), 'test:unit differs from the project\'s');
});

it('lists every entry of the exports map, and only what each entry exports', async () => {
  const readme = await readFile(path.join(repositoryRoot, README), 'utf8');
  const rows = [...readme.matchAll(/^\| `(next-channels[^`]*)` \| (.*) \|$/gm)];
  const pkg = JSON.parse(await readFile(path.join(repositoryRoot, 'lib/channels/package.json'), 'utf8')) as { exports: Record<string, unknown> };
  const entries = Object.keys(pkg.exports)
    .filter((entry) => entry !== './package.json')
    .map((entry) => (entry === '.' ? 'next-channels' : `next-channels/${entry.slice(2)}`));
  assert.deepEqual(rows.map(([, entry]) => entry).sort(), entries.sort());
  for (const [, entry, what] of rows) {
    const loaded = (await import(entry!)) as Record<string, unknown>;
    const names = [...what!.matchAll(/`([A-Za-z]\w*)`/g)].map((match) => match[1]!).filter((name) => !/^(next|ioredis|pino|prom-client|react)$/.test(name));
    for (const name of names) assert.ok(name in loaded, `the README lists ${name} under ${entry}, which does not export it`);
  }
});
