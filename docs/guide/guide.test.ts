import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import { assertShowsFilesVerbatim, proseOf, repositoryRoot } from '../shown-files';

const GUIDE = 'docs/guide.md';

it('shows every snippet file exactly as it is, and every file it names exists', async () => {
  const shown = await assertShowsFilesVerbatim(GUIDE);
  assert.ok(shown.length >= 7, `found ${shown.length} snippets`);

  const prose = await proseOf(GUIDE);
  // Files of the reader's app are named as in the app; here they are in docs/guide/.
  const appFiles = [...prose.matchAll(/`((?:channels|app)\/[^`\s]+|routing\.ts)`/g)].map((match) => path.join('docs', 'guide', match[1]!));
  const repositoryFiles = [...prose.matchAll(/`((?:lib|docs|e2e|scripts)\/[^`\s']*)`/g)].map((match) => match[1]!);
  const linked = [...prose.matchAll(/\]\(([^)#:]+)(?:#[^)]*)?\)/g)].map((match) => path.join('docs', match[1]!));
  assert.ok(appFiles.length >= 6, `found ${appFiles.length} names of the app's files`);
  for (const file of [...appFiles, ...repositoryFiles, ...linked]) {
    await access(path.join(repositoryRoot, file)).catch(() => assert.fail(`${GUIDE} names ${file}, which does not exist`));
  }
});

it("gives the test:unit script the project has", async () => {
  const guide = await readFile(path.join(repositoryRoot, GUIDE), 'utf8');
  const block = /```json\n([\s\S]*?)```/.exec(guide)?.[1];
  assert.ok(block, 'no test:unit script block');
  const shown = (JSON.parse(`{${block}}`) as Record<string, string>)['test:unit'];
  const pkg = JSON.parse(await readFile(path.join(repositoryRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.ok(shown && pkg.scripts['test:unit']?.endsWith(shown), `the guide's test:unit (${shown}) is not the project's`);
});
