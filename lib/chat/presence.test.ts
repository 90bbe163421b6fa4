import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemoryPresence } from 'next-channels';
import { roomGroup } from './chat-service';
import { presenceFrame, presenceMeta, roomParticipants, TypingPacer } from './presence';

const entry = (key: string, name: string) => ({ key, meta: presenceMeta(name) });

describe('the chat on the framework presence', () => {
  it('lists people by name (then id), one entry per user id', () => {
    const entries = [entry('u_1', '波'), entry('u_2', 'Ana'), entry('u_3', 'Ana'), entry('u_4', 'bo')];
    assert.deepEqual(presenceFrame(entries), {
      type: 'presence',
      users: [
        { user_id: 'u_2', user: 'Ana' },
        { user_id: 'u_3', user: 'Ana' },
        { user_id: 'u_4', user: 'bo' },
        { user_id: 'u_1', user: '波' },
      ],
    });
  });

  it('makes one frame per list, so every watcher gets the same object', () => {
    const entries = [entry('u_1', 'Ana')];
    assert.equal(presenceFrame(entries), presenceFrame(entries));
  });

  it("reads a room's participants from the tracker, under the room's group", async () => {
    const presence = new InMemoryPresence({ changeIntervalMs: 0 });
    await presence.track(roomGroup('lobby'), 'u_ana', presenceMeta('Ana'), 'tab-1');
    await presence.track(roomGroup('lobby'), 'u_ana', presenceMeta('Ana María'), 'tab-2');
    await presence.track(roomGroup('other'), 'u_bo', presenceMeta('波'), 'tab-3');
    assert.deepEqual(await roomParticipants(presence)('lobby'), [{ user_id: 'u_ana', user: 'Ana María' }]);
  });

  it('paces typing notices per person and room', () => {
    const typing = new TypingPacer();
    assert.equal(typing.mayAnnounce('r', 'u_ana', 0, 2_000), true);
    assert.equal(typing.mayAnnounce('r', 'u_ana', 1_999, 2_000), false);
    assert.equal(typing.mayAnnounce('other', 'u_ana', 1_999, 2_000), true);
    assert.equal(typing.mayAnnounce('r', 'u_ana', 2_000, 2_000), true);
  });
});
