import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { LogFields, Logger } from 'next-channels';
import { screenRequest } from './request-screen';

describe('screenRequest', () => {
  const logged: Array<{ msg: string; fields: LogFields | undefined }> = [];
  const record = (msg: string, fields?: LogFields): void => void logged.push({ msg, fields });
  const logger: Logger = { debug: record, info: record, warn: record, error: record };
  // What reaches "Next": a request the screen let through.
  const server = createServer((req, res) => {
    if (!screenRequest(req, res, logger)) res.end('next');
  });
  let base: string;
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('answers a path that does not decode with 400 and logs it once; a query is not its business', async () => {
    for (const target of ['/chat/%ff/', '/%E4%B8/', '/%zz', '/%']) {
      const response = await fetch(`${base}${target}`);
      assert.deepEqual([response.status, await response.text()], [400, 'malformed percent-encoding in the path\n'], target);
    }
    assert.deepEqual(
      logged.map(({ msg, fields }) => [msg, fields?.path]),
      ['/chat/%ff/', '/%E4%B8/', '/%zz', '/%'].map((path) => ['refused a request whose path does not decode', path]),
    );
    for (const target of ['/chat/%E8%81%8A/', '/chat/lobby/?q=%ff', '/a%2Fb']) {
      assert.equal(await (await fetch(`${base}${target}`)).text(), 'next', target);
    }
  });

  it('answers a Content-Length over the /api/ cap with 413 before reading; elsewhere lets it through', async () => {
    const big = 'x'.repeat(16 * 1024 + 1);
    const refused = await fetch(`${base}/api/session`, { method: 'POST', body: big, headers: { 'content-type': 'application/json' } });
    assert.equal(refused.status, 413);
    assert.equal(((await refused.json()) as { error: string }).error, 'too_large');
    assert.equal(await (await fetch(`${base}/api/session`, { method: 'POST', body: 'x'.repeat(16 * 1024) })).text(), 'next');
    assert.equal(await (await fetch(`${base}/chat/lobby/`, { method: 'POST', body: big })).text(), 'next');
  });
});
