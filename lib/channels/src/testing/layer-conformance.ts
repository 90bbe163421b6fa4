/**
 * The behaviour every `ChannelLayer` must have, as a test suite. Each implementation's test file
 * calls `channelLayerConformance` with a factory; nothing here depends on one implementation.
 * Delivery may be asynchronous (over a network), so every check waits for the message it expects,
 * and a "nothing arrived" check waits for a later message sent to the same channel instead.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ChannelFull, InvalidName } from '../errors';
import type { ChannelLayer, ChannelLayerOptions, ChannelReceiver, GroupSendOptions, LayerMessage } from '../layers/types';

/** What the suite asks of a new layer: a small capacity, a short group expiry, a fake clock. */
export type ConformanceLayerOptions = ChannelLayerOptions;

/**
 * Makes a fresh layer with these options, one per test, sharing nothing with the layers made
 * before it (a Redis layer takes a new prefix each time); the suite closes them all at the end.
 */
export type LayerFactory = (options: ConformanceLayerOptions) => Promise<ChannelLayer>;

/**
 * Makes two fresh layers sharing one backend, as two processes of one site would have (a Redis
 * layer each, on the same prefix), so the suite can check what crosses between processes.
 */
export type PeerLayerFactory = (options: ConformanceLayerOptions) => Promise<readonly [ChannelLayer, ChannelLayer]>;

/** What the suite may check beyond one layer on its own. */
export interface ConformanceSuiteOptions {
  /** For a layer that spans processes: the cases across processes run only when it is given. */
  readonly makePeers?: PeerLayerFactory;
}

/** A receiver that records what it gets and lets a test wait for the n-th message. */
export class RecordingReceiver implements ChannelReceiver {
  /** Every message delivered, in order. */
  readonly messages: LayerMessage[] = [];
  /** How many messages the layer refused for a full backlog. */
  overflows = 0;
  /** Set it to test capacity: the layer counts a channel full once this reaches `capacity`. */
  backlog = 0;
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  deliver(message: LayerMessage): void {
    this.messages.push(message);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.messages.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Counts a refused message. */
  overflowed(): void {
    this.overflows++;
  }

  /** Resolves once `count` messages have arrived in all. */
  async received(count: number, timeoutMs = 5_000): Promise<LayerMessage[]> {
    if (this.messages.length < count) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`expected ${count} messages, got ${this.messages.length}`)),
          timeoutMs,
        );
        this.#waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    }
    return this.messages;
  }
}

/**
 * Declares the conformance tests (with `node:test`) for one layer implementation: call it at the
 * top level of a test file.
 *
 * @param name what the suite is called in the report.
 * @param makeLayer makes a new layer for each test.
 * @param suite `makePeers` for a layer that spans processes.
 * @example
 * ```ts
 * import { InMemoryChannelLayer } from 'next-channels';
 * import { channelLayerConformance } from 'next-channels/testing/layer-conformance';
 *
 * channelLayerConformance('InMemoryChannelLayer', async (options) => new InMemoryChannelLayer(options));
 * ```
 */
export function channelLayerConformance(name: string, makeLayer: LayerFactory, suite: ConformanceSuiteOptions = {}): void {
  describe(`${name} (channel layer conformance)`, () => {
    const layers: ChannelLayer[] = [];
    const open = async (options: ConformanceLayerOptions = {}): Promise<ChannelLayer> => {
      const layer = await makeLayer(options);
      layers.push(layer);
      return layer;
    };
    const attached = (layer: ChannelLayer): { channel: string; inbox: RecordingReceiver } => {
      const channel = layer.newChannel();
      const inbox = new RecordingReceiver();
      layer.attach(channel, inbox);
      return { channel, inbox };
    };
    /** Attached channels, each made a member of `group`. */
    const members = async (layer: ChannelLayer, group: string, count: number): Promise<Array<{ channel: string; inbox: RecordingReceiver }>> => {
      const made = Array.from({ length: count }, () => attached(layer));
      for (const { channel } of made) await layer.groupAdd(group, channel);
      return made;
    };
    after(async () => {
      await Promise.all(layers.map((layer) => layer.close()));
    });

    it('answers a ping', async () => {
      const layer = await open();
      await layer.ping();
    });

    it('gives every new channel a distinct valid name', async () => {
      const layer = await open();
      const names = new Set(Array.from({ length: 100 }, () => layer.newChannel()));
      assert.equal(names.size, 100);
      for (const channelName of names) assert.match(channelName, /^[A-Za-z0-9_\-.]+![A-Za-z0-9_\-.]+$/);
    });

    it('delivers messages to a channel in the order they were sent', async () => {
      const layer = await open();
      const { channel, inbox } = attached(layer);
      for (let n = 0; n < 20; n++) await layer.send(channel, { type: 'test.seq', n });
      const got = await inbox.received(20);
      assert.deepEqual(
        got.map((message) => message.n),
        Array.from({ length: 20 }, (_, n) => n),
      );
    });

    it('drops a message sent to a channel nobody holds', async () => {
      const layer = await open();
      await layer.send(layer.newChannel(), { type: 'test.lost' });
      const { channel, inbox } = attached(layer);
      await layer.send(channel, { type: 'test.after' });
      assert.deepEqual((await inbox.received(1)).map((m) => m.type), ['test.after']);
    });

    it('stops delivering to a detached channel', async () => {
      const layer = await open();
      const first = attached(layer);
      layer.detach(first.channel);
      await layer.send(first.channel, { type: 'test.dropped' });
      layer.attach(first.channel, first.inbox);
      await layer.send(first.channel, { type: 'test.kept' });
      assert.deepEqual((await first.inbox.received(1)).map((m) => m.type), ['test.kept']);
    });

    it('sends a group message once to every member and to no one else', async () => {
      const layer = await open();
      const a = attached(layer);
      const b = attached(layer);
      const outsider = attached(layer);
      await layer.groupAdd('room.one', a.channel);
      await layer.groupAdd('room.one', a.channel);
      await layer.groupAdd('room.one', b.channel);
      await layer.groupAdd('room.two', outsider.channel);
      await layer.groupSend('room.one', { type: 'test.hello', text: '你好' });
      await layer.groupSend('room.two', { type: 'test.marker' });
      assert.deepEqual(await a.inbox.received(1), [{ type: 'test.hello', text: '你好' }]);
      assert.deepEqual(await b.inbox.received(1), [{ type: 'test.hello', text: '你好' }]);
      assert.deepEqual((await outsider.inbox.received(1)).map((m) => m.type), ['test.marker']);
      await layer.send(a.channel, { type: 'test.marker' });
      assert.deepEqual((await a.inbox.received(2)).map((m) => m.type), ['test.hello', 'test.marker']);
    });

    it('stops sending group messages to a channel after groupDiscard', async () => {
      const layer = await open();
      const stays = attached(layer);
      const leaves = attached(layer);
      await layer.groupAdd('room.leave', stays.channel);
      await layer.groupAdd('room.leave', leaves.channel);
      await layer.groupDiscard('room.leave', leaves.channel);
      await layer.groupDiscard('room.leave', layer.newChannel());
      await layer.groupDiscard('room.never-made', leaves.channel);
      await layer.groupSend('room.leave', { type: 'test.after-leave' });
      await layer.send(leaves.channel, { type: 'test.marker' });
      assert.deepEqual((await stays.inbox.received(1)).map((m) => m.type), ['test.after-leave']);
      assert.deepEqual((await leaves.inbox.received(1)).map((m) => m.type), ['test.marker']);
    });

    it('rejects send to a full channel with ChannelFull and tells the receiver', async () => {
      const layer = await open({ capacity: 2 });
      const { channel, inbox } = attached(layer);
      inbox.backlog = 2;
      await assert.rejects(layer.send(channel, { type: 'test.full' }), (error: unknown) => {
        assert.ok(error instanceof ChannelFull);
        assert.equal(error.channel, channel);
        assert.equal(error.capacity, 2);
        return true;
      });
      assert.equal(inbox.overflows, 1);
      inbox.backlog = 1;
      await layer.send(channel, { type: 'test.room-again' });
      assert.deepEqual((await inbox.received(1)).map((m) => m.type), ['test.room-again']);
    });

    it('skips a full member in a group send and still reaches the others', async () => {
      const layer = await open({ capacity: 1 });
      const full = attached(layer);
      const free = attached(layer);
      full.inbox.backlog = 1;
      await layer.groupAdd('room.full', full.channel);
      await layer.groupAdd('room.full', free.channel);
      await layer.groupSend('room.full', { type: 'test.fanout' });
      assert.deepEqual((await free.inbox.received(1)).map((m) => m.type), ['test.fanout']);
      full.inbox.backlog = 0;
      await layer.send(full.channel, { type: 'test.marker' });
      assert.deepEqual((await full.inbox.received(1)).map((m) => m.type), ['test.marker']);
      assert.equal(full.inbox.overflows, 1);
    });

    it('expires a group membership groupExpiryMs after its last groupAdd', async () => {
      let clock = 1_000_000;
      const layer = await open({ groupExpiryMs: 1_000, now: () => clock });
      const renewed = attached(layer);
      const expired = attached(layer);
      await layer.groupAdd('room.expiry', renewed.channel);
      await layer.groupAdd('room.expiry', expired.channel);
      clock += 600;
      await layer.groupAdd('room.expiry', renewed.channel);
      clock += 600;
      await layer.groupSend('room.expiry', { type: 'test.late' });
      await layer.send(expired.channel, { type: 'test.marker' });
      assert.deepEqual((await renewed.inbox.received(1)).map((m) => m.type), ['test.late']);
      assert.deepEqual((await expired.inbox.received(1)).map((m) => m.type), ['test.marker']);
    });

    it('leaves out of a group send the one channel it excepts', async () => {
      const layer = await open();
      const [sender, other] = await members(layer, 'room.except-one', 2);
      await layer.groupSend('room.except-one', { type: 'test.not-me' }, { except: sender!.channel });
      await layer.groupSend('room.except-one', { type: 'test.marker' });
      assert.deepEqual((await other!.inbox.received(2)).map((m) => m.type), ['test.not-me', 'test.marker']);
      assert.deepEqual((await sender!.inbox.received(1)).map((m) => m.type), ['test.marker']);
    });

    it('leaves out every channel of an except list, and only those', async () => {
      const layer = await open();
      const [a, b, c, d] = await members(layer, 'room.except-several', 4);
      await layer.groupSend('room.except-several', { type: 'test.some' }, { except: [a!.channel, c!.channel, a!.channel] });
      await layer.groupSend('room.except-several', { type: 'test.all' }, { except: [] });
      for (const kept of [b!, d!]) assert.deepEqual((await kept.inbox.received(2)).map((m) => m.type), ['test.some', 'test.all']);
      for (const left of [a!, c!]) assert.deepEqual((await left.inbox.received(1)).map((m) => m.type), ['test.all']);
    });

    it('sends to the whole group when the excepted channel is not in it', async () => {
      const layer = await open();
      const outsider = attached(layer);
      const [a, b] = await members(layer, 'room.except-outsider', 2);
      await layer.groupSend('room.except-outsider', { type: 'test.everyone' }, { except: [outsider.channel, layer.newChannel()] });
      for (const member of [a!, b!]) assert.deepEqual((await member.inbox.received(1)).map((m) => m.type), ['test.everyone']);
      await layer.send(outsider.channel, { type: 'test.marker' });
      assert.deepEqual((await outsider.inbox.received(1)).map((m) => m.type), ['test.marker']);
    });

    it('refuses an except that is not a short list of channel names, before sending anything', async () => {
      const layer = await open();
      const [member] = await members(layer, 'room.except-bad', 1);
      const nine = Array.from({ length: 9 }, () => layer.newChannel());
      await assert.rejects(layer.groupSend('room.except-bad', { type: 'test.x' }, { except: 'bad channel' }), InvalidName);
      await assert.rejects(layer.groupSend('room.except-bad', { type: 'test.x' }, { except: [member!.channel, 'a!b!c'] }), InvalidName);
      await assert.rejects(layer.groupSend('room.except-bad', { type: 'test.x' }, { except: nine }), RangeError);
      const notNames = { except: 42 } as unknown as GroupSendOptions;
      await assert.rejects(layer.groupSend('room.except-bad', { type: 'test.x' }, notNames), TypeError);
      await layer.groupSend('room.except-bad', { type: 'test.marker' }, { except: nine.slice(1) });
      assert.deepEqual((await member!.inbox.received(1)).map((m) => m.type), ['test.marker']);
    });

    const { makePeers } = suite;
    if (makePeers) {
      const peers = async (options: ConformanceLayerOptions = {}): Promise<readonly [ChannelLayer, ChannelLayer]> => {
        const pair = await makePeers(options);
        layers.push(...pair);
        return pair;
      };

      it('delivers a group message to the members of every process', async () => {
        const [here, there] = await peers();
        const [near] = await members(here, 'room.peers', 1);
        const [far] = await members(there, 'room.peers', 1);
        await here.groupSend('room.peers', { type: 'test.across' });
        await there.groupSend('room.peers', { type: 'test.back' });
        // Messages from two processes keep no order between them.
        for (const member of [near!, far!]) assert.deepEqual((await member.inbox.received(2)).map((m) => m.type).sort(), ['test.across', 'test.back']);
      });

      it('leaves the excepted channels out of a group send in every process, whichever holds them', async () => {
        const [here, there] = await peers();
        const [nearSkipped, nearKept] = await members(here, 'room.except-peers', 2);
        const [farSkipped, farKept] = await members(there, 'room.except-peers', 2);
        // From the process holding one of the excepted channels: each process skips its own.
        await here.groupSend('room.except-peers', { type: 'test.first' }, { except: [nearSkipped!.channel, farSkipped!.channel] });
        await here.groupSend('room.except-peers', { type: 'test.marker' });
        for (const kept of [nearKept!, farKept!]) assert.deepEqual((await kept.inbox.received(2)).map((m) => m.type), ['test.first', 'test.marker']);
        for (const left of [nearSkipped!, farSkipped!]) assert.deepEqual((await left.inbox.received(1)).map((m) => m.type), ['test.marker']);
        // From a process that holds none of them.
        await there.groupSend('room.except-peers', { type: 'test.second' }, { except: nearSkipped!.channel });
        await there.groupSend('room.except-peers', { type: 'test.marker' });
        const then = ['test.second', 'test.marker'];
        for (const kept of [nearKept!, farKept!]) assert.deepEqual((await kept.inbox.received(4)).slice(2).map((m) => m.type), then);
        assert.deepEqual((await farSkipped!.inbox.received(3)).slice(1).map((m) => m.type), then);
        assert.deepEqual((await nearSkipped!.inbox.received(2)).map((m) => m.type), ['test.marker', 'test.marker']);
      });
    }

    it('refuses malformed channel, group and event names', async () => {
      const layer = await open();
      const { channel } = attached(layer);
      await assert.rejects(layer.groupAdd('has space', channel), InvalidName);
      await assert.rejects(layer.groupAdd('x'.repeat(101), channel), InvalidName);
      await assert.rejects(layer.groupAdd('room.ok', 'bad channel'), InvalidName);
      await assert.rejects(layer.send('a!b!c', { type: 'test.x' }), InvalidName);
      await assert.rejects(layer.send(channel, { type: 'nodots' }), InvalidName);
      await assert.rejects(layer.groupSend('room.ok', { type: 'close' }), InvalidName);
      assert.throws(() => layer.newChannel('bad prefix'), InvalidName);
    });
  });
}
