/**
 * Identity against the production server, through real HTTP requests and real sockets: display
 * names that cannot be spoofed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppServer } from './support/app-server';
import { TestSocket } from './support/ws-client';

/** The `name=value` part of a response's Set-Cookie header. */
const cookieOf = (response: Response): string => (response.headers.get('set-cookie') ?? '').split(';')[0]!;

describe('sessions and names on the production server', () => {
  let server: AppServer;
  before(async () => {
    server = await AppServer.start({ mode: 'production' });
  });
  after(async () => {
    await server?.dispose();
  });

  const newVisitor = async (): Promise<string> => cookieOf(await fetch(`${server.http}/`));
  const rename = (cookie: string, name: unknown): Promise<Response> =>
    fetch(`${server.http}/api/session`, {
      method: 'POST',
      headers: { cookie, origin: server.origin, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
  const open = (cookie: string, room = 'lobby/'): Promise<TestSocket> => TestSocket.open(`${server.ws}/ws/chat/${room}`, { origin: server.origin, cookie });
  const welcome = async (socket: TestSocket) => (await socket.find((frame) => frame.type === 'welcome')) as { user_id: string; user: string };

  it('refuses display names that hide or pretend to be System, over POST /api/session', async () => {
    const cookie = await newVisitor();
    for (const name of ['Sys\u200Dtem', 'Sуstem', 'System.', 'S y s t e m', 'ЅYSTEM', '\u3164', '\u2800', '\u200D', '\u115F\u1160', 'admin', 'ADMlN', '@everyone']) {
      const response = await rename(cookie, name);
      assert.equal(response.status, 400, JSON.stringify(name));
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_name');
    }
    const socket = await open(cookie);
    assert.notEqual((await welcome(socket)).user, 'System');
    socket.close();
  });

  it('keeps names in every script as typed (after NFKC), and shows them on the socket', async () => {
    for (const [typed, shown] of [
      ['小明', '小明'],
      ['王小二', '王小二'],
      ['田中 さくら', '田中 さくら'],
      ['김민수', '김민수'],
      ['محمد', 'محمد'],
      ['José Ñúñez', 'José Ñúñez'],
      ['👩‍💻 Ana', '👩‍💻 Ana'],
      ['Ｍｉｎｇ\u200B', 'Ming'],
    ]) {
      const response = await rename(await newVisitor(), typed);
      assert.equal(response.status, 200, typed);
      assert.equal(((await response.json()) as { user: string }).user, shown);
      const socket = await open(cookieOf(response));
      assert.equal((await welcome(socket)).user, shown);
      socket.close();
    }
  });
});
