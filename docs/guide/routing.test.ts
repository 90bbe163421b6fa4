import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, it } from 'node:test';
import vm from 'node:vm';
import WebSocket from 'ws';
import { type ChatServer, startChatServer } from '../../lib/testing/chat-server';
import { websocketApplication } from './routing';

let server: ChatServer;
before(async () => {
  server = await startChatServer({ routing: websocketApplication });
});
after(async () => {
  await server?.close();
});

/** The HTTP status of a handshake: 101 when it opens. */
function handshakeStatus(url: string, origin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { origin } });
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

it('serves the counter next to the chat, behind the same Origin check', async () => {
  assert.equal(await handshakeStatus(`${server.url}/ws/counter/likes/`, server.origin), 101);
  assert.equal(await handshakeStatus(`${server.url}/ws/counter/likes/`, 'http://evil.example'), 403);
  assert.equal(await handshakeStatus(`${server.url}/ws/chat/lobby/`, server.origin), 101);
});

it("runs the guide's browser-console snippet as a page of the site would", async () => {
  const snippet = await readFile(path.join(__dirname, 'browser-console.js'), 'utf8');
  const logged: unknown[] = [];
  const seenTwo = new Promise<void>((resolve) => {
    const origin = server.origin;
    vm.runInNewContext(snippet, {
      // What the browser gives a page of the site: its host, and sockets that send its Origin.
      location: { host: new URL(server.url).host },
      WebSocket: class extends WebSocket {
        constructor(url: string) {
          super(url, { headers: { origin } });
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
