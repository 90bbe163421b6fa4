import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { after, before, it } from 'node:test';
import vm from 'node:vm';
import { InMemoryChannelLayer, silentLogger, SocketServer } from 'next-channels';
import WebSocket from 'ws';
import { application } from './routing';

// The guide's routing on a real socket, as server.ts serves it (without Next): the Origin check
// lets in pages of the development server, http://localhost:<PORT>.
const pageOrigin = `http://localhost:${process.env.PORT ?? 3000}`;
let server: Server;
let sockets: SocketServer;
let url: string;
before(async () => {
  sockets = new SocketServer({ application, layer: new InMemoryChannelLayer(), logger: silentLogger });
  server = createServer();
  server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
after(async () => {
  await sockets?.shutdown();
  server?.close();
});

/** The HTTP status of a handshake: 101 when it opens. */
function handshakeStatus(target: string, origin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, { headers: { origin } });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_request, response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}

it("serves the counter to the site's pages only, and only on its routes", async () => {
  assert.equal(await handshakeStatus(`${url}/ws/counters/likes/`, pageOrigin), 101);
  assert.equal(await handshakeStatus(`${url}/ws/counters/likes/`, 'http://elsewhere.example'), 403);
  assert.equal(await handshakeStatus(`${url}/ws/nothing-here/`, pageOrigin), 404);
});

it("runs the guide's browser-console snippet as a page of the site would", async () => {
  const snippet = await readFile(path.join(__dirname, 'browser-console.js'), 'utf8');
  const logged: unknown[] = [];
  const seenTwo = new Promise<void>((resolve) => {
    vm.runInNewContext(snippet, {
      // What the browser gives a page of the site: its host, and sockets that send its Origin.
      location: { host: new URL(url).host },
      WebSocket: class extends WebSocket {
        constructor(target: string) {
          super(target, { headers: { origin: pageOrigin } });
        }
      },
      console: {
        log: (value: unknown) => {
          logged.push(value);
          if (logged.length === 2) resolve();
        },
      },
    });
  });
  await seenTwo;
  // vm objects come from another realm: compare their JSON.
  assert.equal(JSON.stringify(logged), JSON.stringify([{ type: 'count', value: 0 }, { type: 'count', value: 1 }]));
});
