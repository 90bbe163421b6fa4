/**
 * `node --import tsx bench/profile-summary.ts <file.cpuprofile> [count]`: the functions with the
 * most self time in a V8 CPU profile (as `npm run bench -- --cpu-prof <folder>` writes them),
 * and the share of the whole each takes, to see where the server's time goes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, countArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [count]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
const selfTime = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, index) => {
  const frame = byNode.get(id)?.callFrame;
  const delta = profile.timeDeltas[index] ?? 0;
  total += delta;
  if (!frame) return;
  const where = frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : '';
  const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
  selfTime.set(key, (selfTime.get(key) ?? 0) + delta);
});
const rows = [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, Number(countArg ?? 40));
for (const [name, time] of rows) {
  process.stdout.write(`${((time / total) * 100).toFixed(1).padStart(5)}%  ${(time / 1000).toFixed(0).padStart(6)} ms  ${name}\n`);
}
