import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';

const root = path.join(__dirname, '..', '..');
/** Files the guide tells its reader to create: they are not in the project. */
const CREATED_BY_THE_READER = new Set([
  'lib/counter/',
  'lib/counter/counter-consumer.ts',
  'lib/counter/counter-consumer.test.ts',
  'app/api/counters/[name]/reset/route.ts',
]);

it('shows every snippet file exactly as it is, and every file it names exists', async () => {
  const guide = await readFile(path.join(root, 'docs', 'guide.md'), 'utf8');
  const snippets = [...guide.matchAll(/<!-- file: (\S+) -->\n```(?:ts|js)\n([\s\S]*?)```\n/g)];
  assert.ok(snippets.length >= 6, `found ${snippets.length} snippets`);
  for (const [, file, shown] of snippets) {
    assert.equal(shown, await readFile(path.join(root, file!), 'utf8'), `docs/guide.md shows ${file} differently`);
  }
  // Every code block is one of those files: none is left out of the checks.
  assert.equal([...guide.matchAll(/^```(?:ts|js|tsx)$/gm)].length, snippets.length, 'a code block without a <!-- file: --> marker');

  const prose = guide.replace(/```[\s\S]*?```/g, '');
  const named = [...prose.matchAll(/`((?:lib|app|docs|e2e|scripts)\/[^`\s']*)`/g)].map((match) => match[1]!);
  const linked = [...prose.matchAll(/\]\(([^)#:]+)(?:#[^)]*)?\)/g)].map((match) => path.join('docs', match[1]!));
  assert.ok(named.length >= 8, `found ${named.length} file names`);
  for (const file of [...named, ...linked]) {
    if (CREATED_BY_THE_READER.has(file)) continue;
    await access(path.join(root, file)).catch(() => assert.fail(`docs/guide.md names ${file}, which does not exist`));
  }
});
