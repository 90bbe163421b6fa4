import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { hideNextHeaders } from './hide-next-headers';

/** How the handler sends its head: each way Next (or anyone) might. */
const senders: Record<string, (res: ServerResponse) => void> = {
  end: (res) => res.end('x'),
  write: (res) => {
    res.write('x');
    res.end();
  },
  writeHead: (res) => res.writeHead(404, { 'X-NextJS-Stale-Time': '300', 'content-type': 'text/plain' }).end('x'),
};

describe('hideNextHeaders', () => {
  const server = createServer((req, res) => {
    hideNextHeaders(req, res);
    res.setHeader('x-nextjs-cache', 'HIT');
    res.appendHeader('x-nextjs-prerender', '1');
    res.setHeader('vary', 'rsc');
    senders[req.url!.slice(1)]!(res);
  });
  let base: string;
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('drops every x-nextjs-* header, however the head is sent, and keeps the others', async () => {
    for (const how of Object.keys(senders)) {
      const response = await fetch(`${base}/${how}`);
      await response.text();
      assert.deepEqual([...response.headers.keys()].filter((name) => name.startsWith('x-nextjs-')), [], how);
      assert.equal(response.headers.get('vary'), 'rsc', how);
    }
  });

  it("keeps them for Next's own client router, which reads them", async () => {
    const response = await fetch(`${base}/end`, { headers: { rsc: '1' } });
    await response.text();
    assert.equal(response.headers.get('x-nextjs-cache'), 'HIT');
  });
});
