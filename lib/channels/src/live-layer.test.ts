import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemoryChannelLayer } from './layers/in-memory';
import { channelLayer, installChannelLayer, uninstallChannelLayer } from './live-layer';
import type * as processSlotModule from './process-slot';
import { processState } from './process-slot';

type Events = { 'chat.message': { text: string }; 'chat.typing': { user: string } };

describe('channelLayer', () => {
  it('throws a clear error until a server installs a layer, then sends through it', async () => {
    uninstallChannelLayer();
    assert.throws(() => channelLayer(), /not running in this process/);
    const layer = new InMemoryChannelLayer();
    installChannelLayer(layer);
    const received: unknown[] = [];
    const channel = layer.newChannel();
    layer.attach(channel, { backlog: 0, deliver: (message) => void received.push(message) });
    await layer.groupAdd('lobby', channel);
    await channelLayer<Events>().groupSend('lobby', { type: 'chat.message', text: 'hello' });
    assert.deepEqual(received, [{ type: 'chat.message', text: 'hello' }]);
    uninstallChannelLayer();
    await layer.close();
  });

  it('passes except on, so a route handler can send to everyone but one channel', async () => {
    const layer = new InMemoryChannelLayer();
    installChannelLayer(layer);
    const received = new Map<string, unknown[]>();
    for (let n = 0; n < 2; n++) {
      const channel = layer.newChannel();
      received.set(channel, []);
      layer.attach(channel, { backlog: 0, deliver: (message) => void received.get(channel)!.push(message) });
      await layer.groupAdd('lobby', channel);
    }
    const [left, kept] = [...received.keys()] as [string, string];
    await channelLayer<Events>().groupSend('lobby', { type: 'chat.typing', user: 'Ana' }, { except: left });
    assert.deepEqual(received.get(left), []);
    assert.deepEqual(received.get(kept), [{ type: 'chat.typing', user: 'Ana' }]);
    await assert.rejects(channelLayer<Events>().groupSend('lobby', { type: 'chat.typing', user: 'Ana' }, { except: 'not a channel' }), /invalid channel name/);
    uninstallChannelLayer();
    await layer.close();
  });

  it('types sends by the event map: a misspelt type or field does not compile', () => {
    // Only compiled (the type-check runs on tests), never called.
    const typos = (live: ReturnType<typeof channelLayer<Events>>): void => {
      // @ts-expect-error -- 'chat.mesage' is not an event of the map
      void live.groupSend('lobby', { type: 'chat.mesage', text: 'x' });
      // @ts-expect-error -- 'txt' is not a field of chat.message
      void live.groupSend('lobby', { type: 'chat.message', txt: 'x' });
      // @ts-expect-error -- a field is missing
      void live.send('channel', { type: 'chat.typing' });
    };
    assert.equal(typeof typos, 'function');
  });
});

describe('processState', () => {
  it('gives every copy of the module the same state (as Next gives route code a copy of its own)', () => {
    // A second copy of the module, as a second bundle would hold: loaded apart from this one.
    const modulePath = require.resolve('./process-slot');
    const cached = require.cache[modulePath];
    delete require.cache[modulePath];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy of the module is the point
    const copy = require('./process-slot') as typeof processSlotModule;
    if (cached) require.cache[modulePath] = cached;
    assert.notEqual(copy.processState, processState);
    const counter = processState('test.counter', () => ({ value: 0 }));
    counter.value++;
    const seenByCopy = copy.processState('test.counter', () => ({ value: 100 }));
    assert.equal(seenByCopy, counter);
    assert.equal(seenByCopy.value, 1);
  });
});
