import assert from 'node:assert/strict';
import { it } from 'node:test';
import { assertShowsFilesVerbatim } from './shown-files';

// examples/minimal's README is the recipe for a login of the app's own: the files it shows are
// the example's, as they are (the example's build and tests compile and run them).
it("examples/minimal's README shows the example's files exactly as they are", async () => {
  const shown = await assertShowsFilesVerbatim('examples/minimal/README.md');
  assert.deepEqual(shown, ['examples/minimal/session.ts', 'examples/minimal/channels/routing.ts', 'examples/minimal/app/login/actions.ts']);
});
