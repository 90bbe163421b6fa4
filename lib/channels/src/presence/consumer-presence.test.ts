import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject } from '../connection';
import { WebsocketConsumer } from '../consumer';
import { InMemoryChannelLayer } from '../layers/in-memory';
import { route, urlRouter } from '../routing';
import { WebsocketCommunicator } from '../testing/communicator';
import type { PresenceChange } from './consumer-presence';
import { InMemoryPresence } from './in-memory';
import type { PresenceTracker } from './types';

/** Tracks itself in `room.<room>` under the `?key=` of its URL, with `?name=` as meta. */
class Member extends WebsocketConsumer<{ room: string }> {
  override async connect(): Promise<void> {
    await this.accept();
    const key = this.scope.query.get('key') ?? 'nobody';
    await this.track(`room.${this.scope.params.room}`, key, { name: this.scope.query.get('name') ?? key });
  }

  override async receive(text: string): Promise<void> {
    const command = JSON.parse(text) as { untrack?: string; track?: { group: string; key: string; meta: JsonObject } };
    if (command.untrack) await this.untrack(command.untrack);
    if (command.track) {
      await this.track(command.track.group, command.track.key, command.track.meta).catch((error: unknown) => {
        this.send({ refused: error instanceof Error ? error.name : 'unknown' });
      });
    }
  }
}

/** Sends presence as a frame of its own: the hook an app overrides. */
class CountingMember extends Member {
  override presenceChanged(group: string, change: PresenceChange): void {
    this.send({ type: 'here', group, count: change.entries.length, kind: change.kind });
  }
}

function setup(presence: PresenceTracker = new InMemoryPresence({ changeIntervalMs: 0 })) {
  const layer = new InMemoryChannelLayer();
  const app = urlRouter([route('/ws/:room/', Member), route('/ws/counting/:room/', CountingMember)]);
  const open = async (path: string) => {
    const client = new WebsocketCommunicator(app, path, { layer, presence });
    assert.deepEqual(await client.connect(), { accepted: true });
    return client;
  };
  return { open, presence };
}

describe('WebsocketConsumer: track', () => {
  it('sends the whole list on track, then diffs as others come, change their meta and go', async () => {
    const { open } = setup();
    const ana = await open('/ws/lobby/?key=ana&name=Ana');
    assert.deepEqual(await ana.receiveJson(), { $: 'presence', group: 'room.lobby', entries: [{ key: 'ana', meta: { name: 'Ana' } }] });
    const bo = await open('/ws/lobby/?key=bo&name=Bo');
    assert.deepEqual(await bo.receiveJson(), {
      $: 'presence',
      group: 'room.lobby',
      entries: [
        { key: 'ana', meta: { name: 'Ana' } },
        { key: 'bo', meta: { name: 'Bo' } },
      ],
    });
    assert.deepEqual(await ana.receiveJson(), { $: 'presence_diff', group: 'room.lobby', joins: [{ key: 'bo', meta: { name: 'Bo' } }], leaves: [] });
    bo.sendJson({ track: { group: 'room.lobby', key: 'bo', meta: { name: 'Bo B.' } } });
    assert.deepEqual(await ana.receiveJson(), { $: 'presence_diff', group: 'room.lobby', joins: [{ key: 'bo', meta: { name: 'Bo B.' } }], leaves: [] });
    await bo.disconnect();
    assert.deepEqual(await ana.receiveJson(), { $: 'presence_diff', group: 'room.lobby', joins: [], leaves: ['bo'] });
    assert.equal(await ana.receiveNothing(), true);
  });

  it('keeps one entry per key across connections, until the last one goes', async () => {
    const { open, presence } = setup();
    const watcher = await open('/ws/lobby/?key=watcher');
    await watcher.receiveJson();
    const first = await open('/ws/lobby/?key=ana');
    const second = await open('/ws/lobby/?key=ana');
    assert.deepEqual((await second.receiveJson<{ entries: unknown[] }>()).entries.length, 2);
    assert.deepEqual(await watcher.receiveJson(), { $: 'presence_diff', group: 'room.lobby', joins: [{ key: 'ana', meta: { name: 'ana' } }], leaves: [] });
    await first.disconnect();
    assert.equal(await watcher.receiveNothing(), true, 'no change while a connection of the key is left');
    await second.disconnect();
    assert.deepEqual(await watcher.receiveJson(), { $: 'presence_diff', group: 'room.lobby', joins: [], leaves: ['ana'] });
    assert.deepEqual((await presence.list('room.lobby')).entries.map((entry) => entry.key), ['watcher']);
  });

  it('stops on untrack, and keeps groups apart', async () => {
    const { open, presence } = setup();
    const ana = await open('/ws/one/?key=ana');
    await ana.receiveJson();
    const bo = await open('/ws/two/?key=bo');
    await bo.receiveJson();
    assert.equal(await ana.receiveNothing(), true, 'another group is not heard');
    ana.sendJson({ untrack: 'room.one' });
    assert.equal(await ana.receiveNothing(), true);
    assert.deepEqual((await presence.list('room.one')).entries, []);
  });

  it('lets a consumer send presence its own way', async () => {
    const { open } = setup();
    const ana = await open('/ws/counting/lobby/?key=ana');
    assert.deepEqual(await ana.receiveJson(), { type: 'here', group: 'room.lobby', count: 1, kind: 'list' });
    await open('/ws/lobby/?key=bo');
    assert.deepEqual(await ana.receiveJson(), { type: 'here', group: 'room.lobby', count: 2, kind: 'diff' });
  });

  it('refuses a key out of bounds with InvalidPresence, and the connection stays', async () => {
    const { open, presence } = setup();
    const ana = await open('/ws/lobby/?key=ana');
    await ana.receiveJson();
    ana.sendJson({ track: { group: 'room.other', key: 'k'.repeat(300), meta: {} } });
    assert.deepEqual(await ana.receiveJson(), { refused: 'InvalidPresence' });
    assert.deepEqual((await presence.list('room.other')).entries, []);
  });

  it('paces what connections hear: a burst folds into one diff', async () => {
    const { open } = setup(new InMemoryPresence({ changeIntervalMs: 200 }));
    const ana = await open('/ws/lobby/?key=ana');
    await ana.receiveJson();
    const others = [];
    for (let index = 0; index < 5; index++) others.push(await open(`/ws/lobby/?key=p${index}`));
    // Ana's own tracking opened the interval: the five that follow wait for its end.
    const heard = await ana.receiveJson<{ $: string; joins: Array<{ key: string }> }>({ timeoutMs: 1_000 });
    assert.equal(heard.$, 'presence_diff');
    assert.deepEqual(heard.joins.map((entry) => entry.key), ['p0', 'p1', 'p2', 'p3', 'p4'], 'the burst folded into one diff');
    assert.equal(await ana.receiveNothing({ timeoutMs: 60 }), true);
  });

  it('uses the presence of the communicator layer by default, shared by every communicator on it', async () => {
    const layer = new InMemoryChannelLayer();
    const app = urlRouter([route('/ws/:room/', Member)]);
    const first = new WebsocketCommunicator(app, '/ws/lobby/?key=ana', { layer });
    await first.connect();
    await first.receiveJson();
    const second = new WebsocketCommunicator(app, '/ws/lobby/?key=bo', { layer });
    await second.connect();
    assert.equal((await second.receiveJson<{ entries: unknown[] }>()).entries.length, 2);
  });

  it('says so when the server has no presence, and when track comes before accept', async () => {
    const errors: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (_message: string, fields?: { error?: unknown }) => void errors.push(String(fields?.error)) };
    const lonely = new WebsocketCommunicator(urlRouter([route('/ws/:room/', Member)]), '/ws/lobby/?key=ana', { logger });
    assert.deepEqual(await lonely.connect(), { accepted: true });
    assert.equal(await lonely.receiveClose(), 1011);
    assert.match(errors.join('\n'), /Member needs presence, and the server has none/);

    class Early extends WebsocketConsumer {
      override async connect(): Promise<void> {
        await this.track('room.lobby', 'ana', {});
      }
    }
    const early = new WebsocketCommunicator(urlRouter([route('/ws/early/', Early)]), '/ws/early/', { layer: new InMemoryChannelLayer() });
    const outcome = await early.connect();
    assert.equal(outcome.accepted, false);
  });
});
