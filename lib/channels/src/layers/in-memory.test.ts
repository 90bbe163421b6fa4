import assert from 'node:assert/strict';
import { it } from 'node:test';
import { channelLayerConformance, RecordingReceiver } from '../testing/layer-conformance';
import { InMemoryChannelLayer } from './in-memory';

channelLayerConformance('InMemoryChannelLayer', async (options) => new InMemoryChannelLayer(options));

it('hands every member of a group the same message object, so it is serialised once', async () => {
  const layer = new InMemoryChannelLayer();
  const receivers = [new RecordingReceiver(), new RecordingReceiver(), new RecordingReceiver()];
  for (const receiver of receivers) {
    const channel = layer.newChannel();
    layer.attach(channel, receiver);
    await layer.groupAdd('room.same', channel);
  }
  const message = { type: 'chat.message', text: 'hi' };
  await layer.groupSend('room.same', message);
  for (const receiver of receivers) assert.equal(receiver.messages[0], message);
});

it('refuses a capacity or expiry that is not a positive number', () => {
  assert.throws(() => new InMemoryChannelLayer({ capacity: 0 }), /capacity must be a positive number/);
  assert.throws(() => new InMemoryChannelLayer({ groupExpiryMs: Number.NaN }), /groupExpiryMs/);
});
