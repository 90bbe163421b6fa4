/**
 * `node dist/server.js` with no NODE_ENV at all runs production: no development endpoints of
 * Next, no pages compiled on request, tsconfig.json left as it is.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppServer, PROJECT_ROOT } from './support/app-server';

describe('the compiled server without NODE_ENV', () => {
  let server: AppServer;
  let tsconfig: Buffer;
  before(async () => {
    tsconfig = await readFile(path.join(PROJECT_ROOT, 'tsconfig.json'));
    server = await AppServer.start({ mode: 'production', env: { NODE_ENV: undefined, NEXT_TELEMETRY_DISABLED: undefined } });
  });
  after(async () => {
    await server?.dispose();
  });

  it('runs in production mode and says so', () => {
    assert.match(server.output(), /"mode":"production","msg":"listening"/);
    assert.doesNotMatch(server.output(), /telemetry/i);
  });

  it("answers Next's development endpoints with 404", async () => {
    for (const endpoint of ['/__nextjs_original-stack-frame', '/__nextjs_source-map?filename=app/page.tsx', '/__nextjs_launch-editor?file=server.ts']) {
      const response = await fetch(`${server.http}${endpoint}`);
      await response.body?.cancel();
      assert.equal(response.status, 404, endpoint);
    }
  });

  it('serves pages as built, leaving tsconfig.json byte for byte as it was', async () => {
    const page = await fetch(`${server.http}/chat/prod-default/`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(await page.text(), /webpack-hmr|turbopack-hmr|__nextjs_original-stack-frame/);
    assert.deepEqual(await readFile(path.join(PROJECT_ROOT, 'tsconfig.json')), tsconfig);
  });
});
