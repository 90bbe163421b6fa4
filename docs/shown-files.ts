/**
 * What the tests of docs/guide.md and of the package's README check alike: a page shows every
 * file it marks with `<!-- file: path -->` exactly as the file is, and shows no code that is not
 * such a file, so its snippets are files the test suite type-checks and runs.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** The repository's root. */
export const repositoryRoot = path.join(__dirname, '..');

/**
 * Asserts that `page` (a Markdown file, from the repository's root) shows each marked file
 * verbatim and that every TypeScript or JavaScript block is marked; returns the files shown.
 */
export async function assertShowsFilesVerbatim(page: string): Promise<string[]> {
  const markdown = await readFile(path.join(repositoryRoot, page), 'utf8');
  const snippets = [...markdown.matchAll(/<!-- file: (\S+) -->\n```(?:ts|tsx|js)\n([\s\S]*?)```\n/g)];
  for (const [, file, shown] of snippets) {
    assert.equal(shown, await readFile(path.join(repositoryRoot, file!), 'utf8'), `${page} shows ${file} differently`);
  }
  const codeBlocks = [...markdown.matchAll(/^```(?:ts|tsx|js|jsx|typescript|javascript)$/gm)].length;
  assert.equal(codeBlocks, snippets.length, `${page} has a code block without a <!-- file: --> marker`);
  return snippets.map(([, file]) => file!);
}

/** The page's text without its code blocks. */
export async function proseOf(page: string): Promise<string> {
  return (await readFile(path.join(repositoryRoot, page), 'utf8')).replace(/```[\s\S]*?```/g, '');
}
