import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebsocketConsumer } from './consumer';
import { RouteNotFound } from './errors';
import { include, type ParamsOf, route, urlRouter } from './routing';
import type { Scope } from './scope';
import { WebsocketCommunicator } from './testing/communicator';

/** Accepts and reports, as its first frame, the params and remaining path it was routed with. */
class ParamsEcho extends WebsocketConsumer<Record<string, string>> {
  override async connect(): Promise<void> {
    await this.accept();
    this.send(JSON.stringify({ params: this.scope.params, rest: this.scope.pathRemaining }));
  }
}

async function routed(app: ReturnType<typeof urlRouter>, path: string): Promise<unknown> {
  const client = new WebsocketCommunicator(app, path);
  const outcome = await client.connect();
  if (!outcome.accepted) return outcome.status;
  const frame = await client.receiveJson();
  await client.disconnect();
  return frame;
}

describe('urlRouter', () => {
  const app = urlRouter([
    route('/ws/chat/', ParamsEcho),
    route('/ws/chat/:room/', ParamsEcho, { params: { room: /^[A-Za-z0-9_-]{1,64}$/ } }),
    route('/ws/a/:x/b/:y/', ParamsEcho),
  ]);

  it('routes an exact path to its consumer', async () => {
    assert.deepEqual(await routed(app, '/ws/chat/'), { params: {}, rest: '' });
  });

  it('extracts named parameters, percent-decoded', async () => {
    assert.deepEqual(await routed(app, '/ws/chat/lobby/'), { params: { room: 'lobby' }, rest: '' });
    assert.deepEqual(await routed(app, '/ws/a/%E4%BD%A0/b/2/?q=1'), { params: { x: '你', y: '2' }, rest: '' });
  });

  it('refuses an unknown path with 404 before the handshake', async () => {
    assert.equal(await routed(app, '/ws/nothing/'), 404);
    assert.equal(await routed(app, '/ws/chat'), 404);
    assert.equal(await routed(app, '/ws/chat/lobby/extra/'), 404);
  });

  it('refuses a parameter that breaks its rule with 404', async () => {
    assert.equal(await routed(app, '/ws/chat/bad%20room/'), 404);
    assert.equal(await routed(app, `/ws/chat/${'x'.repeat(65)}/`), 404);
    assert.equal(await routed(app, '/ws/chat/%E0%A4%A/'), 404);
  });

  it('throws RouteNotFound naming the path', async () => {
    await assert.rejects(
      app({ path: '/nope/', pathRemaining: '/nope/' } as Scope, {} as never, {} as never),
      (error: unknown) => error instanceof RouteNotFound && error.status === 404 && /\/nope\//.test(error.message),
    );
  });

  it('takes the first matching route', async () => {
    class First extends ParamsEcho {}
    const ordered = urlRouter([route('/ws/:any/', First), route('/ws/fixed/', ParamsEcho)]);
    assert.deepEqual(await routed(ordered, '/ws/fixed/'), { params: { any: 'fixed' }, rest: '' });
  });
});

describe('include', () => {
  const inner = urlRouter([route('/chat/:room/', ParamsEcho), route('/', ParamsEcho)]);
  const app = urlRouter([include('/ws/:version', inner)]);

  it('nests a router under a prefix, passing parameters down', async () => {
    assert.deepEqual(await routed(app, '/ws/v1/chat/x/'), { params: { version: 'v1', room: 'x' }, rest: '' });
    assert.deepEqual(await routed(app, '/ws/v2/'), { params: { version: 'v2' }, rest: '' });
  });

  it('matches a prefix only at a segment boundary', async () => {
    const exact = urlRouter([include('/ws', urlRouter([route('/x/', ParamsEcho)]))]);
    assert.deepEqual(await routed(exact, '/ws/x/'), { params: {}, rest: '' });
    assert.equal(await routed(exact, '/wsx/x/'), 404);
  });

  it('404s when the nested router has no match', async () => {
    assert.equal(await routed(app, '/ws/v1/other/'), 404);
  });
});

describe('route', () => {
  it('rejects a pattern without a leading slash and a rule for an unknown parameter', () => {
    assert.throws(() => route('ws/x/', ParamsEcho), /must start with "\/"/);
    assert.throws(
      () => route('/ws/:room/', ParamsEcho, { params: { rom: /x/ } as unknown as { room: RegExp } }),
      /no parameter :rom/,
    );
  });

  it('types the parameters a pattern declares', () => {
    const params: ParamsOf<'/ws/chat/:room/:page/'> = { room: 'a', page: '1' };
    assert.deepEqual(Object.keys(params), ['room', 'page']);
    class NeedsRoom extends WebsocketConsumer<{ readonly room: string }> {}
    route('/ws/:room/', NeedsRoom);
    // @ts-expect-error: the pattern has no :room, and the consumer needs one.
    route('/ws/:rom/', NeedsRoom);
  });
});
