import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';

const root = path.join(__dirname, '..', '..');

it('shows every snippet file exactly as it is, and every file it names exists', async () => {
  const guide = await readFile(path.join(root, 'docs', 'guide.md'), 'utf8');
  const snippets = [...guide.matchAll(/<!-- file: (\S+) -->\n```ts\n([\s\S]*?)```\n/g)];
  assert.ok(snippets.length >= 4, `found ${snippets.length} snippets`);
  for (const [, file, shown] of snippets) {
    assert.equal(shown, await readFile(path.join(root, file!), 'utf8'), `docs/guide.md shows ${file} differently`);
  }
});
